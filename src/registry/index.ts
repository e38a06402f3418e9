/**
 * Hosted OCI registry. Other subsystems use `HostedRegistry`:
 * - `resolveLocal(project, service, tagOrDigest)` → `{ row: { digest, mediaType, size }, bytes }`
 *   (the manifest as stored, no network, no principal);
 * - `blobPath(digest)` → the blob's file under `<data_dir>/registry/blobs/sha256/`
 *   (read-only; content-addressed, so the bytes never change);
 * - `pullSpec(project, service, tagOrDigest)` → `{ reference, credentials }` for
 *   `OciService.pull` over loopback (OciService's `hostedRegistry` = bind_addr).
 */
export { REALM, tokenFromAuthorization } from "./access.js"
export { type GcReport, RegistryGc, UPLOAD_TTL_MS } from "./gc.js"
export { HostedRegistry, type StoredManifest } from "./HostedRegistry.js"
export { RegistryRoutes } from "./http.js"
export { MEDIA_TYPES } from "./manifest.js"
