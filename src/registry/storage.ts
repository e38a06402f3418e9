/**
 * Blob storage on disk: `<root>/blobs/sha256/<hex>` (content-addressed,
 * immutable) and `<root>/uploads/<id>` (one session file per upload). Data
 * moves as Node streams so memory stays bounded whatever the blob size.
 */
import { FileSystem } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect } from "effect"
import { createHash, type Hash } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { type Readable, Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"
import { publishFile, writeFileAtomic } from "../platform/atomicWrite.js"
import { type DistributionError, ociError, RegistryStorageError } from "./errors.js"

export interface BlobStorePaths {
  readonly root: string
  readonly blobs: string
  readonly uploads: string
}

export const storePaths = (root: string): BlobStorePaths => ({
  root,
  blobs: path.join(root, "blobs", "sha256"),
  uploads: path.join(root, "uploads")
})

export const blobFile = (paths: BlobStorePaths, hex: string): string => path.join(paths.blobs, hex)
export const uploadFile = (paths: BlobStorePaths, id: string): string => path.join(paths.uploads, id)

/** Blobs and manifests on disk; only the daemon reads them. */
const BLOB_MODE = 0o600

const storageError = (operation: string) => (e: unknown) =>
  new RegistryStorageError({ operation, message: e instanceof Error ? e.message : String(e), cause: e })

export const ensureDirs = (paths: BlobStorePaths) =>
  Effect.tryPromise({
    try: async () => {
      await fsp.mkdir(paths.blobs, { recursive: true, mode: 0o700 })
      await fsp.mkdir(paths.uploads, { recursive: true, mode: 0o700 })
    },
    catch: storageError("create registry directories")
  })

/** Running sha256 over an upload; kept in memory between chunks of one session. */
export interface HashState {
  readonly hash: Hash
  size: number
}

export const newHashState = (): HashState => ({ hash: createHash("sha256"), size: 0 })

/** A cap on what a session file may grow to, with the error to answer past it. */
export interface GrowthCap {
  /** Largest total size of the session file. */
  readonly size: number
  readonly refuse: (size: number) => DistributionError
}

class Hashing extends Transform {
  constructor(
    private readonly state: HashState,
    private readonly limit: number | undefined,
    private readonly cap: GrowthCap | undefined = undefined
  ) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    if (this.limit !== undefined && this.state.size + chunk.length > this.limit) {
      cb(new BodyOverrun())
      return
    }
    if (this.cap !== undefined && this.state.size + chunk.length > this.cap.size) {
      cb(new CapExceeded(this.cap.refuse(this.state.size + chunk.length)))
      return
    }
    this.state.hash.update(chunk)
    this.state.size += chunk.length
    cb(null, chunk)
  }
}

/** The body carried more bytes than its Content-Range/Content-Length announced. */
export class BodyOverrun extends Error {
  constructor() {
    super("request body is longer than announced")
  }
}

class CapExceeded extends Error {
  constructor(readonly refusal: DistributionError) {
    super(refusal.message)
  }
}

/**
 * Appends a request body to a session file, hashing as it goes. `state` is
 * updated in place; on failure the file is truncated back to where it was so
 * the session stays consistent with its recorded size. The body is read
 * through an iterator that leaves it open when writing stops early, so the
 * caller can still answer on that connection.
 */
export const appendBody = (file: string, body: Readable, state: HashState, maxBytes?: number, cap?: GrowthCap) =>
  Effect.tryPromise({
    try: async () => {
      const before = state.size
      try {
        await pipeline(
          body.iterator({ destroyOnReturn: false }),
          new Hashing(state, maxBytes, cap),
          fs.createWriteStream(file, { flags: "a", highWaterMark: 1024 * 1024 })
        )
      } catch (e) {
        await fsp.truncate(file, before).catch(() => undefined)
        throw e
      }
      return state.size - before
    },
    catch: (e) =>
      e instanceof CapExceeded
        ? e.refusal
        : e instanceof BodyOverrun
        ? ociError("SIZE_INVALID", "chunk is longer than its Content-Range or Content-Length")
        : storageError("write upload")(e)
  })

/** Recomputes a session file's digest (after a restart lost the in-memory hash). */
export const hashFile = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const state = newHashState()
      await pipeline(fs.createReadStream(file, { highWaterMark: 1024 * 1024 }), new Hashing(state, undefined), async function*(source) {
        for await (const _ of source) {
          // drain
        }
      })
      return state
    },
    catch: storageError("hash upload")
  })

/**
 * Moves a verified session file into the content-addressed store (a no-op
 * copy when the blob exists already): fsynced, 0600, renamed, directory
 * fsynced (platform/atomicWrite).
 */
export const commitFile = (paths: BlobStorePaths, sessionFile: string, hex: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const target = blobFile(paths, hex)
    if (yield* fs.exists(target)) yield* fs.remove(sessionFile, { force: true })
    else yield* publishFile(sessionFile, target, { mode: BLOB_MODE })
  }).pipe(Effect.provide(NodeFileSystem.layer), Effect.mapError(storageError("commit blob")))

export const removeFile = (file: string) =>
  Effect.tryPromise({ try: () => fsp.rm(file, { force: true }), catch: storageError("remove file") })

export const truncateFile = (file: string, size: number) =>
  Effect.tryPromise({ try: () => fsp.truncate(file, size), catch: storageError("truncate upload") })

export const touchFile = (file: string) =>
  Effect.tryPromise({
    try: async () => {
      const h = await fsp.open(file, "a")
      await h.close()
    },
    catch: storageError("create upload file")
  })

export const fileSize = (file: string) =>
  Effect.tryPromise({
    try: () => fsp.stat(file).then((s) => s.size),
    catch: storageError("stat file")
  })

export const blobExistsOnDisk = (paths: BlobStorePaths, hex: string) =>
  Effect.promise(() =>
    fsp.stat(blobFile(paths, hex)).then(
      (s) => s.isFile(),
      () => false
    )
  )

/** Writes a whole blob (a manifest) crash-safely: temp file, fsync, rename, directory fsync. */
export const writeBlobBytes = (paths: BlobStorePaths, hex: string, bytes: Uint8Array) =>
  writeFileAtomic(blobFile(paths, hex), bytes, { mode: BLOB_MODE }).pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.mapError(storageError("write blob"))
  )

export const readBlobBytes = (paths: BlobStorePaths, hex: string) =>
  Effect.tryPromise({ try: () => fsp.readFile(blobFile(paths, hex)), catch: storageError("read blob") })

/** Lists every file in the blob directory (GC's view of the disk). */
export const listBlobFiles = (paths: BlobStorePaths) =>
  Effect.tryPromise({ try: () => fsp.readdir(paths.blobs), catch: storageError("list blobs") })

export const listUploadFiles = (paths: BlobStorePaths) =>
  Effect.tryPromise({ try: () => fsp.readdir(paths.uploads), catch: storageError("list uploads") })
