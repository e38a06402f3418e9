/**
 * What the registry needs to know about a pushed manifest: its media type, the
 * digests it references (blobs and, for indexes, child manifests) and its
 * `subject`. Parsing is shallow on purpose; the registry stores bytes verbatim.
 */
import { isDigest } from "./digest.js"
import { type DistributionError, ociError } from "./errors.js"

export const MEDIA_TYPES = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json"
} as const

const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest])
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList])

export const isSupportedManifestType = (mediaType: string): boolean => IMAGE_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType)

/** The default cap on a manifest body (the spec suggests registries accept at least 4 MiB). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024

export interface ManifestRef {
  readonly digest: string
  readonly kind: "blob" | "manifest"
}

export interface ParsedManifest {
  readonly mediaType: string
  readonly refs: ReadonlyArray<ManifestRef>
  readonly subject: string | undefined
  readonly artifactType: string | undefined
}

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

const descriptor = (v: unknown, where: string): { digest: string; mediaType: string | undefined } | DistributionError => {
  if (!isObject(v)) return ociError("MANIFEST_INVALID", `${where} is not a descriptor object`)
  const digest = v["digest"]
  if (typeof digest !== "string" || !isDigest(digest)) return ociError("MANIFEST_INVALID", `${where}.digest is not a sha256 digest`)
  if (typeof v["size"] !== "number" || !Number.isSafeInteger(v["size"]) || v["size"] < 0) {
    return ociError("MANIFEST_INVALID", `${where}.size must be a non-negative integer`)
  }
  const mediaType = v["mediaType"]
  return { digest, mediaType: typeof mediaType === "string" ? mediaType : undefined }
}

/**
 * Validates a manifest body against the Content-Type it was pushed with
 * (falling back to its `mediaType` field) and lists what it references.
 */
export const parseManifest = (body: Buffer, contentType: string | undefined): ParsedManifest | DistributionError => {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString("utf8"))
  } catch {
    return ociError("MANIFEST_INVALID", "manifest is not valid JSON")
  }
  if (!isObject(doc)) return ociError("MANIFEST_INVALID", "manifest is not a JSON object")
  if (doc["schemaVersion"] !== 2) return ociError("MANIFEST_INVALID", "only schemaVersion 2 manifests are accepted")
  const declared = typeof doc["mediaType"] === "string" ? doc["mediaType"] : undefined
  const header = contentType?.split(";")[0]?.trim()
  let mediaType = header !== undefined && header !== "" && header !== "application/octet-stream" ? header : declared
  if (mediaType === undefined) {
    // OCI allows omitting mediaType; infer from the shape.
    mediaType = Array.isArray(doc["manifests"]) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest
  }
  if (!isSupportedManifestType(mediaType)) {
    return ociError("MANIFEST_INVALID", `unsupported manifest media type ${mediaType}`, { mediaType })
  }
  if (declared !== undefined && declared !== mediaType) {
    return ociError("MANIFEST_INVALID", `Content-Type ${mediaType} does not match the manifest's mediaType ${declared}`)
  }
  const refs: Array<ManifestRef> = []
  if (IMAGE_TYPES.has(mediaType)) {
    const config = descriptor(doc["config"], "config")
    if ("_tag" in config) return config
    refs.push({ digest: config.digest, kind: "blob" })
    const layers = doc["layers"]
    if (!Array.isArray(layers)) return ociError("MANIFEST_INVALID", "layers must be an array")
    for (const [i, layer] of layers.entries()) {
      const d = descriptor(layer, `layers[${i}]`)
      if ("_tag" in d) return d
      refs.push({ digest: d.digest, kind: "blob" })
    }
  } else {
    const manifests = doc["manifests"]
    if (!Array.isArray(manifests)) return ociError("MANIFEST_INVALID", "manifests must be an array")
    for (const [i, m] of manifests.entries()) {
      const d = descriptor(m, `manifests[${i}]`)
      if ("_tag" in d) return d
      refs.push({ digest: d.digest, kind: "manifest" })
    }
  }
  let subject: string | undefined
  if (doc["subject"] !== undefined) {
    const s = descriptor(doc["subject"], "subject")
    if ("_tag" in s) return s
    subject = s.digest
  }
  const artifactType = typeof doc["artifactType"] === "string"
    ? doc["artifactType"]
    : IMAGE_TYPES.has(mediaType) && isObject(doc["config"]) && typeof doc["config"]["mediaType"] === "string"
    ? doc["config"]["mediaType"]
    : undefined
  const unique = new Map(refs.map((r) => [`${r.kind}:${r.digest}`, r]))
  return { mediaType, refs: [...unique.values()], subject, artifactType }
}
