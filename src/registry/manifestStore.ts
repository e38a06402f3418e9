/**
 * Manifest operations of the hosted registry: lookup by tag or digest, push
 * (validated completely, and within the quotas, before a byte is written),
 * delete, tags and referrers. Part of `HostedRegistry`, split out by concern.
 */
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import type { DatabaseError } from "../db/errors.js"
import type { ManifestRow, RegistryRepo } from "../repos/RegistryRepo.js"
import type { Repository } from "./access.js"
import { looksLikeDigest, TAG } from "./digest.js"
import { clip, type DistributionError, ociError, type RegistryStorageError } from "./errors.js"
import { MANIFEST_MAX_BYTES, parseManifest } from "./manifest.js"
import { linkCheck, type Quotas } from "./quota.js"
import * as store from "./storage.js"

export interface StoredManifest {
  readonly row: ManifestRow
  readonly bytes: Buffer
}

export interface ManifestDeps {
  readonly repo: RegistryRepo
  readonly paths: store.BlobStorePaths
  readonly quotas: Quotas
  readonly withStoreLock: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly requireDigest: (digest: string) => Effect.Effect<string, DistributionError>
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

export const makeManifestOps = ({ repo, paths, quotas, withStoreLock, requireDigest }: ManifestDeps) => {
  const findManifest = (r: Repository, reference: string): Effect.Effect<ManifestRow, DistributionError | DatabaseError> =>
    Effect.gen(function*() {
      if (looksLikeDigest(reference)) {
        yield* requireDigest(reference)
        const row = yield* repo.findManifest(r.id, reference)
        if (Option.isNone(row)) return yield* ociError("MANIFEST_UNKNOWN", `manifest ${clip(reference)} is not in ${r.name}`, { reference })
        return row.value
      }
      if (!TAG.test(reference)) {
        return yield* ociError("MANIFEST_INVALID", `${JSON.stringify(clip(reference))} is not a valid tag`, { reference }, 400)
      }
      const row = yield* repo.resolveTag(r.id, reference)
      if (Option.isNone(row)) return yield* ociError("MANIFEST_UNKNOWN", `tag ${clip(reference)} is not in ${r.name}`, { reference })
      return row.value
    })

  const readManifest = (
    r: Repository,
    reference: string
  ): Effect.Effect<StoredManifest, DistributionError | RegistryStorageError | DatabaseError> =>
    Effect.gen(function*() {
      const row = yield* findManifest(r, reference)
      const hex = yield* requireDigest(row.digest)
      const bytes = yield* store.readBlobBytes(paths, hex)
      return { row, bytes }
    })

  const missingBlobs = (r: Repository, missing: ReadonlyArray<string>) =>
    ociError(
      "MANIFEST_BLOB_UNKNOWN",
      `manifest references ${missing.length} blob(s) not in ${r.name}: ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}`,
      { missing: missing.slice(0, 20), missingCount: missing.length }
    )

  /** Stores a manifest under a tag or its digest; every referenced blob/manifest must be in the repository. */
  const putManifest = (r: Repository, reference: string, bytes: Buffer, contentType: string | undefined) =>
    Effect.gen(function*() {
      if (bytes.length > MANIFEST_MAX_BYTES) {
        return yield* ociError("SIZE_INVALID", `manifest is larger than ${MANIFEST_MAX_BYTES} bytes`, { limit: MANIFEST_MAX_BYTES }, 413)
      }
      const digest = sha256(bytes)
      let tag: string | undefined
      if (looksLikeDigest(reference)) {
        yield* requireDigest(reference)
        if (reference !== digest) {
          return yield* ociError("DIGEST_INVALID", `manifest content has digest ${clip(digest)}, not ${clip(reference)}`, {
            digest: reference,
            actual: digest
          })
        }
      } else if (TAG.test(reference)) {
        tag = reference
      } else {
        return yield* ociError("MANIFEST_INVALID", `${JSON.stringify(clip(reference))} is not a valid tag`, { reference })
      }
      const parsed = parseManifest(bytes, contentType)
      if ("_tag" in parsed) return yield* parsed
      const hex = yield* requireDigest(digest)
      yield* repo.ensureRepository(r.id, r.projectId)
      // Everything that can refuse the manifest is checked before its bytes touch the disk.
      const missingBefore = yield* repo.missingRefs(r.id, parsed.refs)
      if (missingBefore.length > 0) return yield* missingBlobs(r, missingBefore)
      return yield* withStoreLock(
        Effect.gen(function*() {
          const refusal = linkCheck(
            quotas,
            r,
            yield* repo.usage(r.id, r.projectId),
            bytes.length,
            yield* repo.linkedWhere(digest, r.id, r.projectId)
          )
          if (refusal !== undefined) return yield* refusal
          const existed = yield* store.blobExistsOnDisk(paths, hex)
          const known = Option.isSome(yield* repo.findBlob(digest))
          yield* repo.recordBlob(digest, bytes.length)
          if (!existed) yield* store.writeBlobBytes(paths, hex, bytes)
          const missing = yield* repo.putManifest({
            repositoryId: r.id,
            digest,
            mediaType: parsed.mediaType,
            size: bytes.length,
            subjectDigest: parsed.subject,
            artifactType: parsed.artifactType,
            refs: parsed.refs,
            tag
          })
          if (missing.length > 0) {
            // A referenced blob went away in between (a concurrent delete): undo what this request wrote.
            if (!existed) yield* store.removeFile(store.blobFile(paths, hex))
            if (!known) yield* repo.forgetBlobIfCollectable(digest, new Date(Date.now() + 60_000).toISOString(), new Date(0).toISOString())
            return yield* missingBlobs(r, missing)
          }
          // Like the registry reference implementation, a manifest can also be fetched through the blobs endpoint.
          yield* repo.linkBlob(r.id, digest)
          return { digest, subject: parsed.subject }
        })
      )
    })

  /** DELETE by digest removes the manifest (and its tags); by tag removes only the tag. */
  const deleteManifest = (r: Repository, reference: string) =>
    Effect.gen(function*() {
      if (looksLikeDigest(reference)) {
        yield* requireDigest(reference)
        const removed = yield* repo.deleteManifest(r.id, reference)
        if (!removed) return yield* ociError("MANIFEST_UNKNOWN", `manifest ${clip(reference)} is not in ${r.name}`, { reference })
        return
      }
      const removed = yield* repo.deleteTag(r.id, reference)
      if (!removed) return yield* ociError("MANIFEST_UNKNOWN", `tag ${clip(reference)} is not in ${r.name}`, { reference })
    })

  const listTags = (r: Repository, last: string | undefined, n: number | undefined) => repo.listTags(r.id, last, n)

  const referrers = (r: Repository, digest: string, artifactType: string | undefined) =>
    Effect.gen(function*() {
      yield* requireDigest(digest)
      const rows = yield* repo.referrers(r.id, digest)
      return rows.filter((m) => artifactType === undefined || m.artifactType === artifactType)
    })

  return { findManifest, readManifest, putManifest, deleteManifest, listTags, referrers }
}
