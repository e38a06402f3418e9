/**
 * Operator-started pulls (`POST /v1/oci/pulls`): each runs in a background
 * fiber of the daemon scope and reports progress into an in-memory table
 * that `GET /v1/oci/pulls/{id}` reads. Finished entries are kept for an hour.
 */
import { Context, Effect, FiberSet, Layer } from "effect"
import { uuidv7 } from "../domain/ids.js"
import { OciService } from "./api.js"
import type { RegistryCredentials } from "./auth.js"
import { describeOciError } from "./describeError.js"

export interface PullJob {
  readonly id: string
  readonly image: string
  readonly status: "running" | "done" | "failed"
  readonly digest?: string
  readonly layersDone: number
  readonly layersTotal: number
  readonly bytes: number
  readonly error?: string
}

const RETAIN_MS = 60 * 60 * 1000

export interface PullJobsApi {
  readonly start: (image: string, credentials: RegistryCredentials) => Effect.Effect<PullJob>
  readonly get: (id: string) => Effect.Effect<PullJob | undefined>
}

export class PullJobs extends Context.Tag("denia/oci/PullJobs")<PullJobs, PullJobsApi>() {
  static readonly layer = Layer.scoped(
    PullJobs,
    Effect.gen(function*() {
      const oci = yield* OciService
      const fibers = yield* FiberSet.make<void, never>()
      const jobs = new Map<string, { job: PullJob; finishedAt?: number }>()

      const prune = () => {
        const now = Date.now()
        for (const [id, e] of jobs) if (e.finishedAt !== undefined && now - e.finishedAt > RETAIN_MS) jobs.delete(id)
      }
      const update = (id: string, patch: Partial<PullJob>, finished = false) => {
        const current = jobs.get(id)
        if (current === undefined) return
        jobs.set(id, { job: { ...current.job, ...patch }, ...(finished ? { finishedAt: Date.now() } : {}) })
      }

      const start = (image: string, credentials: RegistryCredentials) =>
        Effect.gen(function*() {
          prune()
          const job: PullJob = { id: uuidv7(), image, status: "running", layersDone: 0, layersTotal: 0, bytes: 0 }
          jobs.set(job.id, { job })
          yield* FiberSet.run(
            fibers,
            oci
              .pull(image, credentials, (p) => update(job.id, { layersDone: p.layersDone, layersTotal: p.layersTotal, bytes: p.bytesDone }))
              .pipe(
                Effect.matchEffect({
                  onSuccess: (pulled) => Effect.sync(() => update(job.id, { status: "done", digest: pulled.digest }, true)),
                  onFailure: (e) =>
                    Effect.logWarning("image pull failed", e).pipe(
                      Effect.zipRight(Effect.sync(() => update(job.id, { status: "failed", error: describeOciError(e) }, true)))
                    )
                }),
                // The defect goes to the daemon log only: its text may name host paths.
                Effect.catchAllDefect((d) =>
                  Effect.logError("image pull failed with a defect", d).pipe(
                    Effect.zipRight(
                      Effect.sync(() => update(job.id, { status: "failed", error: "internal error (details in the daemon log)" }, true))
                    )
                  )
                )
              )
          )
          return job
        })

      return { start, get: (id: string) => Effect.sync(() => jobs.get(id)?.job) }
    })
  )
}
