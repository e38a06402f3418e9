/**
 * Builds OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * from declarative layer specs, for tests and benchmarks. Layers are streamed
 * to disk, so large images do not need to fit in memory.
 */
import { Schema } from "effect"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { PassThrough, type Readable, Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import * as tar from "tar-stream"

export type EntryContent = string | Buffer | { readonly file: string } | { readonly randomBytes: number }

interface Owner {
  readonly uid?: number
  readonly gid?: number
}

export type LayerEntry =
  | ({ readonly kind: "dir"; readonly path: string; readonly mode?: number } & Owner)
  | ({ readonly kind: "file"; readonly path: string; readonly content: EntryContent; readonly mode?: number } & Owner)
  | ({ readonly kind: "symlink"; readonly path: string; readonly target: string } & Owner)
  | { readonly kind: "hardlink"; readonly path: string; readonly target: string }
  /** `.wh.<name>`: deletes `path` from lower layers. */
  | { readonly kind: "whiteout"; readonly path: string }
  /** `.wh..wh..opq`: hides everything lower layers put in `dir`. */
  | { readonly kind: "opaque"; readonly dir: string }
  | {
    readonly kind: "device"
    readonly path: string
    readonly type: "character-device" | "block-device"
    readonly major: number
    readonly minor: number
  }
  | { readonly kind: "fifo"; readonly path: string }
  /** Verbatim tar header (hostile names, odd types). */
  | { readonly kind: "raw"; readonly header: tar.Header | (Partial<tar.Header> & { name: string }); readonly content?: Buffer }

export type Compression = "gzip" | "zstd" | "none"

export interface LayerSpec {
  readonly entries: ReadonlyArray<LayerEntry>
  readonly compression?: Compression
}

export interface ImageConfigSpec {
  readonly User?: string
  readonly Env?: ReadonlyArray<string>
  readonly Entrypoint?: ReadonlyArray<string>
  readonly Cmd?: ReadonlyArray<string>
  readonly WorkingDir?: string
  readonly ExposedPorts?: ReadonlyArray<string>
  readonly Labels?: Readonly<Record<string, string>>
}

export interface ImageSpec {
  readonly layers: ReadonlyArray<LayerSpec>
  readonly config?: ImageConfigSpec
  readonly os?: string
  readonly architecture?: string
  readonly variant?: string
}

export interface IndexSpec {
  readonly index: ReadonlyArray<ImageSpec>
}

export interface BuiltBlob {
  readonly digest: string
  readonly size: number
  readonly mediaType: string
}

export interface BuiltImage {
  readonly manifest: BuiltBlob
  readonly config: BuiltBlob
  readonly layers: ReadonlyArray<BuiltBlob>
  readonly platform: string
}

export interface BuiltTag {
  /** Digest of what the tag points at (an index for IndexSpec). */
  readonly digest: string
  readonly mediaType: string
  readonly images: ReadonlyArray<BuiltImage>
}

const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json"
} as const

const layerMediaType = (c: Compression) =>
  c === "gzip"
    ? "application/vnd.oci.image.layer.v1.tar+gzip"
    : c === "zstd"
    ? "application/vnd.oci.image.layer.v1.tar+zstd"
    : "application/vnd.oci.image.layer.v1.tar"

class Hasher extends Transform {
  readonly hash = createHash("sha256")
  size = 0
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
    this.hash.update(chunk)
    this.size += chunk.length
    cb(null, chunk)
  }
}

const blobsDir = (layout: string) => path.join(layout, "blobs", "sha256")

const writeBlob = async (layout: string, data: Buffer | string, mediaType: string): Promise<BuiltBlob> => {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, "utf8")
  const hex = createHash("sha256").update(buf).digest("hex")
  await fs.writeFile(path.join(blobsDir(layout), hex), buf)
  return { digest: `sha256:${hex}`, size: buf.length, mediaType }
}

const writeEntry = async (pack: tar.Pack, header: Partial<tar.Header> & { name: string }, content?: EntryContent) => {
  if (content === undefined) {
    await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())))
    return
  }
  if (typeof content === "string" || Buffer.isBuffer(content)) {
    const buf = typeof content === "string" ? Buffer.from(content) : content
    await new Promise<void>((resolve, reject) => pack.entry({ ...header, size: buf.length }, buf, (err) => (err ? reject(err) : resolve())))
    return
  }
  let source: Readable
  let size: number
  if ("file" in content) {
    size = (await fs.stat(content.file)).size
    source = createReadStream(content.file)
  } else {
    size = content.randomBytes
    const total = size
    const pt = new PassThrough()
    source = pt
    void (async () => {
      let left = total
      while (left > 0) {
        const n = Math.min(left, 1024 * 1024)
        if (!pt.write(randomBytes(n))) await new Promise((r) => pt.once("drain", r))
        left -= n
      }
      pt.end()
    })()
  }
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...header, size }, (err) => (err ? reject(err) : resolve()))
    source.on("data", (chunk: Buffer) => {
      if (!sink.write(chunk)) {
        source.pause()
        sink.once("drain", () => source.resume())
      }
    })
    source.on("end", () => sink.end(undefined))
    source.on("error", reject)
  })
}

const now = new Date("2024-01-01T00:00:00Z")

const addEntry = async (pack: tar.Pack, e: LayerEntry) => {
  const owner = (o: Owner) => ({ uid: o.uid ?? 0, gid: o.gid ?? 0 })
  switch (e.kind) {
    case "dir":
      return writeEntry(pack, { name: e.path, type: "directory", mode: e.mode ?? 0o755, mtime: now, ...owner(e) })
    case "file":
      return writeEntry(pack, { name: e.path, type: "file", mode: e.mode ?? 0o644, mtime: now, ...owner(e) }, e.content)
    case "symlink":
      return writeEntry(pack, { name: e.path, type: "symlink", linkname: e.target, mode: 0o777, mtime: now, ...owner(e) })
    case "hardlink":
      return writeEntry(pack, { name: e.path, type: "link", linkname: e.target, mode: 0o644, mtime: now })
    case "whiteout": {
      const dir = path.posix.dirname(e.path)
      return writeEntry(pack, { name: `${dir === "." ? "" : `${dir}/`}.wh.${path.posix.basename(e.path)}`, type: "file", mtime: now }, "")
    }
    case "opaque":
      return writeEntry(pack, { name: `${e.dir.replace(/\/$/, "")}/.wh..wh..opq`, type: "file", mtime: now }, "")
    case "device":
      return writeEntry(pack, { name: e.path, type: e.type, devmajor: e.major, devminor: e.minor, mode: 0o666, mtime: now })
    case "fifo":
      return writeEntry(pack, { name: e.path, type: "fifo", mode: 0o644, mtime: now })
    case "raw":
      return writeEntry(pack, { mtime: now, ...e.header }, e.content)
  }
}

/** Writes one layer blob; returns its descriptor and diff id (digest of the uncompressed tar). */
export const writeLayer = async (layout: string, spec: LayerSpec): Promise<BuiltBlob & { diffId: string }> => {
  const compression = spec.compression ?? "gzip"
  const tmp = path.join(layout, `layer-${randomBytes(6).toString("hex")}.tmp`)
  const pack = tar.pack()
  const diff = new Hasher()
  const out = new Hasher()
  let child: ReturnType<typeof spawn> | undefined
  const done = (async () => {
    if (compression === "zstd") {
      child = spawn("zstd", ["-q", "-3", "-c"], { stdio: ["pipe", "pipe", "inherit"] })
      const c = child
      if (!c.stdin || !c.stdout) throw new Error("zstd spawn failed")
      const exited = new Promise<void>((resolve, reject) =>
        c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code}`))))
      )
      await Promise.all([pipeline(pack, diff, c.stdin), pipeline(c.stdout, out, createWriteStream(tmp)), exited])
    } else if (compression === "gzip") {
      await pipeline(pack, diff, zlib.createGzip({ level: 1 }), out, createWriteStream(tmp))
    } else {
      await pipeline(pack, diff, out, createWriteStream(tmp))
    }
  })()
  for (const e of spec.entries) await addEntry(pack, e)
  pack.finalize()
  await done
  const hex = out.hash.digest("hex")
  await fs.rename(tmp, path.join(blobsDir(layout), hex))
  return {
    digest: `sha256:${hex}`,
    size: out.size,
    mediaType: layerMediaType(compression),
    diffId: `sha256:${diff.hash.digest("hex")}`
  }
}

const hostArch = () => (process.arch === "x64" ? "amd64" : process.arch === "ia32" ? "386" : process.arch)

const writeImage = async (layout: string, spec: ImageSpec): Promise<BuiltImage> => {
  const layers = []
  for (const l of spec.layers) layers.push(await writeLayer(layout, l))
  const architecture = spec.architecture ?? hostArch()
  const os = spec.os ?? "linux"
  const c = spec.config ?? {}
  const configJson = {
    created: now.toISOString(),
    architecture,
    os,
    ...(spec.variant !== undefined ? { variant: spec.variant } : {}),
    config: {
      ...(c.User !== undefined ? { User: c.User } : {}),
      Env: c.Env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(c.Entrypoint !== undefined ? { Entrypoint: c.Entrypoint } : {}),
      ...(c.Cmd !== undefined ? { Cmd: c.Cmd } : {}),
      ...(c.WorkingDir !== undefined ? { WorkingDir: c.WorkingDir } : {}),
      ...(c.ExposedPorts !== undefined ? { ExposedPorts: Object.fromEntries(c.ExposedPorts.map((p) => [p, {}])) } : {}),
      ...(c.Labels !== undefined ? { Labels: c.Labels } : {})
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: now.toISOString(), created_by: "denia test-images" }))
  }
  const config = await writeBlob(layout, JSON.stringify(configJson), MT.ociConfig)
  const manifestJson = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }))
  }
  const manifest = await writeBlob(layout, JSON.stringify(manifestJson), manifestJson.mediaType)
  return {
    manifest,
    config,
    layers: layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })),
    platform: `${os}/${architecture}${spec.variant !== undefined ? `/${spec.variant}` : ""}`
  }
}

/**
 * Adds `spec` under `tag` to the OCI layout at `layout` (created if missing).
 * An IndexSpec produces an image index over its images.
 */
export const writeOciLayout = async (layout: string, spec: ImageSpec | IndexSpec, tag: string): Promise<BuiltTag> => {
  await fs.mkdir(blobsDir(layout), { recursive: true })
  await fs.writeFile(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  let top: BuiltBlob
  let images: Array<BuiltImage>
  if ("index" in spec) {
    images = []
    for (const s of spec.index) images.push(await writeImage(layout, s))
    const indexJson = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: images.map((img, i) => {
        const s = spec.index[i]
        return {
          mediaType: img.manifest.mediaType,
          digest: img.manifest.digest,
          size: img.manifest.size,
          platform: {
            architecture: s?.architecture ?? hostArch(),
            os: s?.os ?? "linux",
            ...(s?.variant !== undefined ? { variant: s.variant } : {})
          }
        }
      })
    }
    top = await writeBlob(layout, JSON.stringify(indexJson), MT.ociIndex)
  } else {
    const img = await writeImage(layout, spec)
    images = [img]
    top = img.manifest
  }
  const indexPath = path.join(layout, "index.json")
  const LayoutIndex = Schema.Struct({
    manifests: Schema.Array(
      Schema.Struct({ annotations: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })) }, {
        key: Schema.String,
        value: Schema.Unknown
      })
    )
  })
  const existing = await fs
    .readFile(indexPath, "utf8")
    .then((t) => Schema.decodeUnknownSync(LayoutIndex)(JSON.parse(t)))
    .catch(() => ({ manifests: [] }))
  const others = existing.manifests.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"] !== tag)
  await fs.writeFile(
    indexPath,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [
        ...others,
        { mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { "org.opencontainers.image.ref.name": tag } }
      ]
    })
  )
  return { digest: top.digest, mediaType: top.mediaType, images }
}

export interface PushOptions {
  /** `user:password` for the destination registry. */
  readonly credentials?: { readonly username: string; readonly password: string }
  /**
   * `v2s2` converts to Docker v2 schema 2 media types while pushing (digests
   * then differ from the layout's); default keeps the OCI manifests as built.
   */
  readonly format?: "oci" | "v2s2"
}

const run = (cmd: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const p = spawn(cmd, [...args], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    p.stdout.on("data", (d: Buffer) => (out += d.toString()))
    p.stderr.on("data", (d: Buffer) => (err += d.toString()))
    p.on("error", reject)
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`))))
  })

/**
 * Pushes `layout:tag` to `docker://<registryHost>/<repository>:<tag>` over
 * plain HTTP with skopeo (all platforms of an index, digests preserved).
 */
export const pushLayout = async (
  layout: string,
  tag: string,
  registryHost: string,
  repositoryAndTag: string,
  options: PushOptions = {}
): Promise<void> => {
  await run("skopeo", [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--all",
    ...(options.format === "v2s2" ? ["--format", "v2s2"] : ["--preserve-digests"]),
    "--dest-tls-verify=false",
    ...(options.credentials ? ["--dest-creds", `${options.credentials.username}:${options.credentials.password}`] : []),
    `oci:${layout}:${tag}`,
    `docker://${registryHost}/${repositoryAndTag}`
  ])
}

export { run as runTool }
