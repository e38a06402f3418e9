/**
 * The hosted registry's operations, independent of HTTP: blobs, upload
 * sessions, manifests, tags, listings. The /v2 handler (http.ts), GC (gc.ts)
 * and other subsystems (deployments resolving `<project>/<service>:<tag>`) use
 * this service.
 */
import { Effect, Option } from "effect"
import type { Readable } from "node:stream"
import { DeniaConfig } from "../config/Config.js"
import { parseAddress } from "../config/fields.js"
import type { DatabaseError } from "../db/errors.js"
import { RegistryRepo } from "../repos/RegistryRepo.js"
import { makeAccess, type Repository } from "./access.js"
import { digestHex, isDigest, looksLikeDigest } from "./digest.js"
import { clip, type DistributionError, ociError } from "./errors.js"
import { makeManifestOps } from "./manifestStore.js"
import { isQuotaRefusal, linkCheck, quotasFromMb, streamHeadroom } from "./quota.js"
import * as store from "./storage.js"

export type { StoredManifest } from "./manifestStore.js"

export interface UploadState {
  readonly id: string
  /** Bytes received so far. */
  readonly size: number
}

export interface ContentRange {
  readonly start: number
  readonly end: number
}

export class HostedRegistry extends Effect.Service<HostedRegistry>()("denia/registry/HostedRegistry", {
  scoped: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const repo = yield* RegistryRepo
    const access = yield* makeAccess
    const paths = store.storePaths(config.paths.registry)
    const quotas = quotasFromMb(config.values.registryQuotaRepositoryMb, config.values.registryQuotaProjectMb)
    yield* store.ensureDirs(paths).pipe(Effect.orDie)

    /** Running hashes of open sessions; lost on restart (then the file is re-hashed at commit). */
    const hashes = new Map<string, store.HashState>()
    /** Sessions with a request in flight; a second concurrent writer is refused. */
    const busy = new Set<string>()
    /**
     * Serializes "record + move into the store" against GC's "forget + unlink"
     * so a blob re-pushed while GC collects it is never left without its file.
     */
    const storeLock = yield* Effect.makeSemaphore(1)
    const withStoreLock = storeLock.withPermits(1)

    const blobPath = (digest: string): string | undefined => {
      const hex = digestHex(digest)
      return hex === undefined ? undefined : store.blobFile(paths, hex)
    }

    const requireDigest = (digest: string): Effect.Effect<string, DistributionError> => {
      const hex = digestHex(digest)
      return hex === undefined
        ? Effect.fail(ociError("DIGEST_INVALID", `${clip(digest)} is not a sha256 digest`, { digest }))
        : Effect.succeed(hex)
    }

    // ---- blobs ----

    /** Size of a blob linked to the repository, or BLOB_UNKNOWN. */
    const statBlob = (r: Repository, digest: string): Effect.Effect<{ size: number; file: string }, DistributionError | DatabaseError> =>
      Effect.gen(function*() {
        const hex = yield* requireDigest(digest)
        const size = yield* repo.findLinkedBlob(r.id, digest)
        if (Option.isNone(size)) return yield* ociError("BLOB_UNKNOWN", `blob ${clip(digest)} is not in ${r.name}`, { digest })
        const file = store.blobFile(paths, hex)
        if (!(yield* store.blobExistsOnDisk(paths, hex))) {
          return yield* ociError("BLOB_UNKNOWN", `blob ${clip(digest)} is missing from storage`, { digest })
        }
        return { size: size.value, file }
      })

    const deleteBlob = (r: Repository, digest: string) =>
      Effect.gen(function*() {
        yield* requireDigest(digest)
        const removed = yield* repo.unlinkBlob(r.id, digest)
        if (!removed) return yield* ociError("BLOB_UNKNOWN", `blob ${clip(digest)} is not in ${r.name}`, { digest })
      })

    /** Links a blob of `size` bytes to the repository unless that breaks a quota. Call under the store lock. */
    const linkWithinQuota = (r: Repository, digest: string, size: number) =>
      Effect.gen(function*() {
        const refusal = linkCheck(quotas, r, yield* repo.usage(r.id, r.projectId), size, yield* repo.linkedWhere(digest, r.id, r.projectId))
        if (refusal !== undefined) return yield* refusal
        yield* repo.linkBlob(r.id, digest)
      })

    /** Cross-repository mount: links the blob when the caller may pull `from` and it is there (and it fits the quotas). */
    const mount = (r: Repository, from: Repository, digest: string) =>
      Effect.gen(function*() {
        yield* requireDigest(digest)
        const size = yield* repo.findLinkedBlob(from.id, digest)
        if (Option.isNone(size)) return false
        yield* repo.ensureRepository(r.id, r.projectId)
        yield* withStoreLock(linkWithinQuota(r, digest, size.value))
        return true
      })

    /** Forgets a session and its file (cancel, quota refusal). */
    const dropSession = (id: string) =>
      Effect.gen(function*() {
        yield* repo.deleteUpload(id)
        hashes.delete(id)
        yield* store.removeFile(store.uploadFile(paths, id))
      })

    // ---- uploads ----

    const startUpload = (r: Repository) =>
      Effect.gen(function*() {
        yield* repo.ensureRepository(r.id, r.projectId)
        const id = yield* repo.createUpload(r.id)
        yield* store.touchFile(store.uploadFile(paths, id))
        hashes.set(id, store.newHashState())
        return { id, size: 0 } satisfies UploadState
      })

    const findUpload = (r: Repository, id: string): Effect.Effect<UploadState, DistributionError | DatabaseError> =>
      Effect.gen(function*() {
        const row = yield* repo.findUpload(id)
        if (Option.isNone(row) || row.value.repositoryId !== r.id) {
          return yield* ociError("BLOB_UPLOAD_UNKNOWN", `upload ${clip(id)} is not open in ${r.name}`, { id })
        }
        return { id, size: row.value.size }
      })

    /** Where the blob a final PUT claims is already linked, and how many more bytes could still match it. */
    const knownClaim = (r: Repository, claimed: string | undefined, received: number) =>
      Effect.gen(function*() {
        if (claimed === undefined) return undefined
        const blob = yield* repo.findBlob(claimed)
        if (Option.isNone(blob)) return undefined
        const where = yield* repo.linkedWhere(claimed, r.id, r.projectId)
        return { remaining: Math.max(blob.value.size - received, 0), ...where }
      })

    /** Runs `f` while holding the session; concurrent writers get RANGE_INVALID. */
    const withSession = <A, E, R>(id: string, size: number, f: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        Effect.suspend(() => {
          if (busy.has(id)) {
            return Effect.fail(ociError("RANGE_INVALID", `upload ${clip(id)} is being written by another request`, { id }, 416))
          }
          busy.add(id)
          return Effect.void
        }),
        () => f,
        () => Effect.sync(() => busy.delete(id))
      ).pipe(Effect.annotateLogs("upload", id), Effect.withSpan("registry.upload", { attributes: { size } }))

    /** The in-memory hash when it matches the file, else a re-hash of the file. */
    const sessionHash = (id: string, size: number) =>
      Effect.gen(function*() {
        const known = hashes.get(id)
        if (known !== undefined && known.size === size) return known
        // After a restart (or a crash mid-chunk) the file may hold bytes the session never acknowledged: drop them first.
        yield* store.truncateFile(store.uploadFile(paths, id), size)
        const state = yield* store.hashFile(store.uploadFile(paths, id))
        hashes.set(id, state)
        return state
      })

    /**
     * Appends a chunk. With `range`, it must start exactly where the session
     * ends (else RANGE_INVALID, 416) and be as long as it claims. `claimed` is
     * the digest a final PUT announces: in a scope (repository, project) that
     * already holds that blob, bytes up to its size cost no quota.
     */
    const appendChunk = (
      r: Repository,
      id: string,
      body: Readable,
      range: ContentRange | undefined,
      contentLength: number | undefined,
      claimed?: string
    ) =>
      Effect.gen(function*() {
        const upload = yield* findUpload(r, id)
        return yield* withSession(
          id,
          upload.size,
          Effect.gen(function*() {
            if (range !== undefined && (range.start !== upload.size || range.end < range.start - 1)) {
              return yield* ociError("RANGE_INVALID", `chunk ${range.start}-${range.end} does not continue the upload at ${upload.size}`, {
                size: upload.size
              }, 416)
            }
            const expected = range !== undefined ? range.end - range.start + 1 : contentLength
            // Quotas: a chunk announced too large is refused before a byte is read; one that grows past the
            // headroom is cut off as it streams. Either way the whole session is discarded.
            const headroom = streamHeadroom(quotas, r, yield* repo.usage(r.id, r.projectId), yield* knownClaim(r, claimed, upload.size))
            if (expected !== undefined && expected > headroom.bytes) {
              yield* dropSession(id)
              return yield* headroom.refuse(expected)
            }
            const cap = Number.isFinite(headroom.bytes)
              ? { size: upload.size + headroom.bytes, refuse: (size: number) => headroom.refuse(size - upload.size) }
              : undefined
            const state = yield* sessionHash(id, upload.size)
            // Uninterruptible: when the client goes away the body stream errors, appendBody cuts the file back,
            // and only then is the session released, so a retry never races the clean-up.
            const written = yield* store
              .appendBody(store.uploadFile(paths, id), body, state, expected === undefined ? undefined : upload.size + expected, cap)
              .pipe(
                Effect.tapError((e) =>
                  Effect.zipRight(
                    Effect.sync(() => hashes.delete(id)),
                    isQuotaRefusal(e) ? dropSession(id).pipe(Effect.ignore) : Effect.void
                  )
                ),
                Effect.uninterruptible
              )
            if (expected !== undefined && written !== expected) {
              // A short chunk is dropped whole so the session stays where the client last saw it.
              yield* store.truncateFile(store.uploadFile(paths, id), upload.size)
              hashes.delete(id)
              return yield* ociError("SIZE_INVALID", `chunk carried ${written} bytes, expected ${expected}`, { size: upload.size })
            }
            yield* repo.setUploadSize(id, state.size)
            return { id, size: state.size } satisfies UploadState
          })
        )
      })

    /** Verifies the session's digest and moves it into the store. */
    const commitSession = (r: Repository, id: string, size: number, digest: string) =>
      Effect.gen(function*() {
        const hex = yield* requireDigest(digest)
        const state = yield* sessionHash(id, size)
        const actual = `sha256:${state.hash.copy().digest("hex")}`
        if (actual !== digest) {
          return yield* ociError("DIGEST_INVALID", `upload content has digest ${actual}, not ${clip(digest)}`, { digest, actual })
        }
        // Quota check, record, move and link under one lock: concurrent commits cannot both squeeze under a quota.
        yield* withStoreLock(
          Effect.gen(function*() {
            const refusal = linkCheck(
              quotas,
              r,
              yield* repo.usage(r.id, r.projectId),
              state.size,
              yield* repo.linkedWhere(digest, r.id, r.projectId)
            )
            if (refusal !== undefined) {
              yield* dropSession(id)
              return yield* refusal
            }
            yield* repo.recordBlob(digest, state.size)
            yield* store.commitFile(paths, store.uploadFile(paths, id), hex)
            yield* repo.linkBlob(r.id, digest)
          })
        )
        return state.size
      })

    /** PUT ?digest=: optional last chunk, verify, commit, close the session. */
    const finishUpload = (r: Repository, id: string, digest: string, body: Readable | undefined, contentLength: number | undefined) =>
      Effect.gen(function*() {
        if (!isDigest(digest)) return yield* ociError("DIGEST_INVALID", `${clip(digest)} is not a sha256 digest`, { digest })
        let upload = yield* findUpload(r, id)
        if (body !== undefined && contentLength !== 0) upload = yield* appendChunk(r, id, body, undefined, contentLength, digest)
        return yield* withSession(
          id,
          upload.size,
          Effect.gen(function*() {
            const size = yield* commitSession(r, id, upload.size, digest)
            yield* repo.deleteUpload(id)
            hashes.delete(id)
            return size
          })
        )
      })

    const cancelUpload = (r: Repository, id: string) =>
      Effect.gen(function*() {
        yield* findUpload(r, id)
        yield* dropSession(id)
      })

    /** POST ?digest=: the whole blob in one request. */
    const monolithic = (r: Repository, digest: string, body: Readable, contentLength: number | undefined) =>
      Effect.gen(function*() {
        yield* requireDigest(digest)
        const upload = yield* startUpload(r)
        return yield* finishUpload(r, upload.id, digest, body, contentLength).pipe(
          Effect.tapError(() => cancelUpload(r, upload.id).pipe(Effect.ignore))
        )
      })

    const { findManifest, readManifest, putManifest, deleteManifest, listTags, referrers } = makeManifestOps({
      repo,
      paths,
      quotas,
      withStoreLock,
      requireDigest
    })

    // ---- for other subsystems ----

    /**
     * Resolves `<project>/<service>:<tag>` (or `@digest`) to the stored
     * manifest without any principal: callers are trusted in-process code
     * (the deployment coordinator).
     */
    const resolveLocal = (projectName: string, serviceName: string, reference: string) =>
      Effect.gen(function*() {
        const r = yield* access.repositoryUnchecked(`${projectName}/${serviceName}`)
        return yield* readManifest(r, reference)
      })

    /**
     * How Denia's OCI client pulls a hosted image over loopback: the reference
     * (`<api host:port>/<project>/<service>:<tag>` or `@<digest>`) and the
     * admin token as Basic credentials. The OciService must list the same
     * `host:port` as its `hostedRegistry` option (the daemon passes bind_addr).
     */
    const pullSpec = (projectName: string, serviceName: string, reference: string) => {
      const addr = parseAddress(config.values.bindAddr)
      const host = addr === undefined
        ? config.values.bindAddr
        : addr.host.includes(":")
        ? `[${addr.host}]:${addr.port}`
        : `${addr.host}:${addr.port}`
      return {
        reference: `${host}/${projectName}/${serviceName}${looksLikeDigest(reference) ? "@" : ":"}${reference}`,
        credentials: { kind: "basic" as const, username: "denia", password: config.values.adminToken }
      }
    }

    return {
      paths,
      pullSpec,
      access,
      withStoreLock,
      blobPath,
      statBlob,
      deleteBlob,
      mount,
      startUpload,
      findUpload,
      appendChunk,
      finishUpload,
      cancelUpload,
      monolithic,
      findManifest,
      readManifest,
      putManifest,
      deleteManifest,
      listTags,
      referrers,
      resolveLocal,
      dropSessionHash: (id: string) => hashes.delete(id),
      isSessionBusy: (id: string) => busy.has(id)
    }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
