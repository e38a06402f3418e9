/**
 * Rootfs bundles (`<data_dir>/artifacts/<digest-hex>/`) are kept for the
 * promoted and rollback deployments of every service and for its last N
 * deployments (`deployments_retained`); the rest are removed. Fresh bundles
 * (a pull in progress may be about to use them) are left alone.
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { TERMINAL_STATUSES } from "../domain/deployment.js"
import type { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import type { ServicesRepo } from "../repos/ServicesRepo.js"

const GRACE_MS = 10 * 60 * 1000
const BUNDLE_NAME = /^[0-9a-f]{64}$/

export interface BundleGcReport {
  readonly kept: number
  readonly removed: ReadonlyArray<string>
}

/** Images of every service's promoted and rollback-target deployments. */
export const servingDigests = (services: ServicesRepo, deployments: DeploymentsRepo) =>
  Effect.gen(function*() {
    const out = new Set<string>()
    for (const s of yield* services.list({})) {
      for (const id of [s.promotedDeploymentId, s.previousDeploymentId]) {
        if (id === null) continue
        const d = yield* deployments.find(id)
        if (Option.isSome(d) && d.value.imageDigest !== undefined) out.add(d.value.imageDigest)
      }
    }
    return out
  })

/** Serving images, plus the last `retained` deployments of each service and deployments in flight. */
export const retainedDigests = (services: ServicesRepo, deployments: DeploymentsRepo, retained: number) =>
  Effect.gen(function*() {
    const keep = yield* servingDigests(services, deployments)
    for (const s of yield* services.list({})) {
      const history = yield* deployments.listForService(s.id)
      for (const [i, d] of history.entries()) {
        if (d.imageDigest === undefined) continue
        if (i < retained || !TERMINAL_STATUSES.has(d.status)) keep.add(d.imageDigest)
      }
    }
    return keep
  })

export const collectBundles = (artifactsDir: string, keep: ReadonlySet<string>, now: number = Date.now()) =>
  Effect.promise(async (): Promise<BundleGcReport> => {
    const names = await fs.readdir(artifactsDir).catch(() => [] as Array<string>)
    const removed: Array<string> = []
    let kept = 0
    for (const name of names) {
      if (!BUNDLE_NAME.test(name)) continue
      if (keep.has(`sha256:${name}`)) {
        kept += 1
        continue
      }
      const dir = path.join(artifactsDir, name)
      const st = await fs.stat(dir).catch(() => undefined)
      if (st === undefined || now - st.mtimeMs < GRACE_MS) {
        kept += 1
        continue
      }
      await fs.rm(dir, { recursive: true, force: true })
      removed.push(`sha256:${name}`)
    }
    return { kept, removed }
  })
