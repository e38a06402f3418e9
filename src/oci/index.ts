export {
  type OciOptions,
  OciService,
  type OciServiceApi,
  type PrewarmResult,
  type PulledImage,
  type PullProgress,
  type ResolvedImage
} from "./api.js"
export { anonymous, type RegistryCredentials } from "./auth.js"
export type { CacheStatus, GcReport, VerifyOnHit } from "./cache.js"
export * from "./errors.js"
export { PinnedImages, type PinnedImagesApi } from "./PinnedImages.js"
export { ProcessManifest } from "./processManifest.js"
export { formatReference, type ImageReference, parseReference } from "./reference.js"
export { makeOciService } from "./service.js"
export { classifyAddress } from "./ssrf.js"
