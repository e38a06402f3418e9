/**
 * Test-image toolkit: declarative OCI layouts (layout.ts), canned busybox
 * images (images.ts), and pushing with skopeo.
 */
export * from "./images.js"
export * from "./layout.js"
