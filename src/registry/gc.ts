/**
 * Hosted-registry garbage collection. A blob is removed only when no manifest
 * in any repository references it, it is not linked to a repository with an
 * open upload, and it was last written longer ago than the grace period.
 * Upload sessions idle past their TTL expire. Runs periodically in the daemon
 * scope and on demand (POST /v1/registry/gc).
 */
import { Duration, Effect, FiberSet, Option } from "effect"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { DeniaConfig } from "../config/Config.js"
import type { DatabaseError } from "../db/errors.js"
import { periodic } from "../platform/periodic.js"
import { type GcRunRow, RegistryRepo } from "../repos/RegistryRepo.js"
import { digestHex } from "./digest.js"
import { HostedRegistry } from "./HostedRegistry.js"
import * as store from "./storage.js"

/** An upload session idle this long is abandoned: its file and row are removed. */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000

export interface GcReport {
  readonly blobsDeleted: number
  readonly bytesFreed: number
  readonly uploadsExpired: number
}

const iso = (ms: number) => new Date(ms).toISOString()

const statOrNone = (file: string) =>
  Effect.promise(() =>
    fsp.stat(file).then(
      (s) => Option.some(s),
      () => Option.none()
    )
  )

export class RegistryGc extends Effect.Service<RegistryGc>()("denia/registry/RegistryGc", {
  scoped: Effect.gen(function*() {
    const config = yield* DeniaConfig
    const registry = yield* HostedRegistry
    const repo = yield* RegistryRepo
    const graceMs = config.values.registryGcGraceMinutes * 60_000
    const intervalHours = config.values.registryGcIntervalHours
    const paths = registry.paths
    const gcLock = yield* Effect.makeSemaphore(1)
    const running = yield* FiberSet.make<GcReport, unknown>()

    const expireUploads = (now: number) =>
      Effect.gen(function*() {
        const idle = yield* repo.uploadsIdleSince(iso(now - UPLOAD_TTL_MS))
        let expired = 0
        for (const u of idle) {
          if (registry.isSessionBusy(u.id)) continue
          yield* repo.deleteUpload(u.id)
          registry.dropSessionHash(u.id)
          yield* store.removeFile(store.uploadFile(paths, u.id))
          expired++
        }
        // Session files without a row (crash between steps) go once they are old.
        for (const name of yield* store.listUploadFiles(paths)) {
          if (Option.isSome(yield* repo.findUpload(name))) continue
          const file = store.uploadFile(paths, name)
          const st = yield* statOrNone(file)
          if (Option.isSome(st) && st.value.mtimeMs < now - UPLOAD_TTL_MS) yield* store.removeFile(file)
        }
        return expired
      })

    const collectBlobs = (now: number) =>
      Effect.gen(function*() {
        const graceCutoff = iso(now - graceMs)
        const openSince = iso(now - UPLOAD_TTL_MS)
        const protectedSet = yield* repo.protectedDigests(openSince)
        const blobs = yield* repo.allBlobs
        let blobsDeleted = 0
        let bytesFreed = 0
        for (const blob of blobs) {
          if (protectedSet.has(blob.digest) || blob.createdAt >= graceCutoff) continue
          const hex = digestHex(blob.digest)
          if (hex === undefined) continue
          const freed = yield* registry.withStoreLock(
            Effect.gen(function*() {
              const forgotten = yield* repo.forgetBlobIfCollectable(blob.digest, graceCutoff, openSince)
              if (!forgotten) return 0
              const file = store.blobFile(paths, hex)
              const st = yield* statOrNone(file)
              yield* store.removeFile(file)
              return Option.isSome(st) ? st.value.size : 0
            })
          )
          if (freed > 0 || blob.size === 0) {
            blobsDeleted++
            bytesFreed += freed
          }
        }
        // Files in the store that no record knows about (crash between rename and insert).
        const known = new Set((yield* repo.allBlobs).map((b) => digestHex(b.digest)))
        for (const name of yield* store.listBlobFiles(paths)) {
          if (known.has(name)) continue
          const file = path.join(paths.blobs, name)
          const st = yield* statOrNone(file)
          if (Option.isNone(st) || st.value.mtimeMs >= now - graceMs) continue
          const removed = yield* registry.withStoreLock(
            Effect.gen(function*() {
              if (/^[a-f0-9]{64}$/.test(name) && Option.isSome(yield* repo.findBlob(`sha256:${name}`))) return false
              yield* store.removeFile(file)
              return true
            })
          )
          if (removed) {
            blobsDeleted++
            bytesFreed += st.value.size
          }
        }
        return { blobsDeleted, bytesFreed }
      })

    /** One complete GC pass, recorded as a run. */
    const runOnce = (runId: string) =>
      gcLock.withPermits(1)(
        Effect.gen(function*() {
          const now = Date.now()
          const uploadsExpired = yield* expireUploads(now)
          const { blobsDeleted, bytesFreed } = yield* collectBlobs(now)
          const report: GcReport = { blobsDeleted, bytesFreed, uploadsExpired }
          yield* repo.finishGcRun(runId, { ...report, error: null })
          yield* Effect.logInfo(`registry GC freed ${bytesFreed} bytes in ${blobsDeleted} blob(s), expired ${uploadsExpired} upload(s)`)
          return report
        }).pipe(
          Effect.tapErrorCause((cause) =>
            repo.finishGcRun(runId, { blobsDeleted: 0, bytesFreed: 0, uploadsExpired: 0, error: "GC failed; see the daemon log" }).pipe(
              Effect.zipRight(Effect.logError("registry GC failed", cause))
            )
          )
        )
      )

    /** Starts a run in the background and returns its record (status polled via `findRun`). */
    const start = (trigger: "manual" | "periodic") =>
      Effect.gen(function*() {
        const id = yield* repo.startGcRun(trigger)
        yield* FiberSet.run(running, runOnce(id))
        return yield* repo.findGcRun(id).pipe(Effect.flatMap(Effect.orDie))
      })

    /** Runs GC to completion (periodic loop, tests, CLI). */
    const runNow = (trigger: "manual" | "periodic") => Effect.flatMap(repo.startGcRun(trigger), runOnce)

    const findRun = (id: string): Effect.Effect<Option.Option<GcRunRow>, DatabaseError> => repo.findGcRun(id)

    yield* periodic({ name: "registry.gc", every: Duration.hours(intervalHours), task: runNow("periodic") })

    return { start, runNow, findRun, graceMs, intervalHours }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
