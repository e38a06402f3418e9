import { Schema } from "effect"

export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  ociLayerTar: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistTar: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociLayerNondistZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayerForeignGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerLayerTar: "application/vnd.docker.image.rootfs.diff.tar"
} as const

export const manifestAccept = [
  MediaTypes.ociIndex,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerManifest
].join(", ")

export const isIndexMediaType = (mt: string): boolean => mt === MediaTypes.ociIndex || mt === MediaTypes.dockerManifestList
export const isManifestMediaType = (mt: string): boolean => mt === MediaTypes.ociManifest || mt === MediaTypes.dockerManifest

export type LayerCompression = "gzip" | "zstd" | "none"

/** Compression of a layer media type; undefined when the type is not a layer Denia unpacks. */
export const layerCompression = (mt: string): LayerCompression | undefined => {
  switch (mt) {
    case MediaTypes.ociLayerGzip:
    case MediaTypes.ociLayerNondistGzip:
    case MediaTypes.dockerLayerGzip:
    case MediaTypes.dockerLayerForeignGzip:
      return "gzip"
    case MediaTypes.ociLayerZstd:
    case MediaTypes.ociLayerNondistZstd:
      return "zstd"
    case MediaTypes.ociLayerTar:
    case MediaTypes.ociLayerNondistTar:
    case MediaTypes.dockerLayerTar:
      return "none"
    default:
      return undefined
  }
}

export const Digest = Schema.String.pipe(Schema.pattern(/^sha256:[a-f0-9]{64}$/))

export const Platform = Schema.Struct({
  architecture: Schema.String,
  os: Schema.String,
  variant: Schema.optional(Schema.String),
  "os.version": Schema.optional(Schema.String)
})
export type Platform = typeof Platform.Type

export const Descriptor = Schema.Struct({
  mediaType: Schema.String,
  digest: Digest,
  size: Schema.Number.pipe(Schema.int(), Schema.nonNegative()),
  urls: Schema.optional(Schema.Array(Schema.String)),
  platform: Schema.optional(Platform),
  annotations: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})
export type Descriptor = typeof Descriptor.Type

export const ImageManifest = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.optional(Schema.String),
  config: Descriptor,
  layers: Schema.Array(Descriptor)
})
export type ImageManifest = typeof ImageManifest.Type

export const ImageIndex = Schema.Struct({
  schemaVersion: Schema.Literal(2),
  mediaType: Schema.optional(Schema.String),
  manifests: Schema.Array(Descriptor)
})
export type ImageIndex = typeof ImageIndex.Type

const StringArray = Schema.NullOr(Schema.Array(Schema.String))

export const ImageConfig = Schema.Struct({
  architecture: Schema.optional(Schema.String),
  os: Schema.optional(Schema.String),
  config: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        User: Schema.optional(Schema.String),
        Env: Schema.optional(StringArray),
        Entrypoint: Schema.optional(StringArray),
        Cmd: Schema.optional(StringArray),
        WorkingDir: Schema.optional(Schema.String),
        ExposedPorts: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))),
        Labels: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.String }))),
        StopSignal: Schema.optional(Schema.String),
        Volumes: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })))
      })
    )
  ),
  rootfs: Schema.optional(
    Schema.Struct({ type: Schema.String, diff_ids: Schema.Array(Schema.String) })
  )
})
export type ImageConfig = typeof ImageConfig.Type

/** Maps Node's `process.arch` to the OCI architecture (+variant) of the host. */
export const hostPlatform = (): { readonly os: string; readonly architecture: string; readonly variant?: string } => {
  switch (process.arch) {
    case "x64":
      return { os: "linux", architecture: "amd64" }
    case "arm64":
      return { os: "linux", architecture: "arm64" }
    case "arm":
      return { os: "linux", architecture: "arm", variant: "v7" }
    case "ia32":
      return { os: "linux", architecture: "386" }
    case "ppc64":
      return { os: "linux", architecture: "ppc64le" }
    default:
      return { os: "linux", architecture: process.arch }
  }
}

export const formatPlatform = (p: { readonly os: string; readonly architecture: string; readonly variant?: string | undefined }) =>
  `${p.os}/${p.architecture}${p.variant !== undefined ? `/${p.variant}` : ""}`

/** Picks the index entry for the wanted platform (variant preferred, then any variant; arm64 accepts v8). */
export const selectPlatform = (
  index: ImageIndex,
  wanted: { readonly os: string; readonly architecture: string; readonly variant?: string }
): Descriptor | undefined => {
  const candidates = index.manifests.filter(
    (m) =>
      m.platform !== undefined &&
      m.platform.os === wanted.os &&
      m.platform.architecture === wanted.architecture &&
      isManifestMediaType(m.mediaType)
  )
  const exact = candidates.find((m) => m.platform?.variant === wanted.variant)
  if (exact) return exact
  if (wanted.architecture === "arm64") {
    const v8 = candidates.find((m) => m.platform?.variant === "v8")
    if (v8) return v8
  }
  return candidates[0]
}
