export * from "./errors.js"
export {
  OciService,
  type OciOptions,
  type OciServiceApi,
  type PulledImage,
  type PullProgress,
  type ResolvedImage
} from "./api.js"
export { anonymous, type RegistryCredentials } from "./auth.js"
export { PinnedImages, type PinnedImagesApi } from "./PinnedImages.js"
export type { CacheStatus, GcReport, VerifyOnHit } from "./cache.js"
export { ProcessManifest } from "./processManifest.js"
export { formatReference, parseReference, type ImageReference } from "./reference.js"
export { classifyAddress } from "./ssrf.js"
export { makeOciService, OciLive } from "./service.js"
