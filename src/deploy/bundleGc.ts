/**
 * Rootfs bundles (`<data_dir>/artifacts/<digest-hex>/`) are kept for the
 * promoted and rollback deployments of every service and for its last N
 * deployments (`deployments_retained`); the rest are removed. Fresh bundles
 * (a pull in progress may be about to use them) are left alone.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { DeploymentsRepo } from "../repos/DeploymentsRepo.js"
import type { ServicesRepo } from "../repos/ServicesRepo.js"

const GRACE_MS = 10 * 60 * 1000
const BUNDLE_NAME = /^[0-9a-f]{64}$/

export interface BundleGcReport {
  readonly kept: number
  readonly removed: ReadonlyArray<string>
}

export const retainedDigests = (services: ServicesRepo, deployments: DeploymentsRepo, retained: number) =>
  Effect.gen(function* () {
    const keep = new Set<string>()
    for (const s of yield* services.list({})) {
      const history = yield* deployments.listForService(s.id)
      for (const d of history.slice(0, retained)) if (d.imageDigest !== undefined) keep.add(d.imageDigest)
      for (const d of history) {
        if ((d.id === s.promotedDeploymentId || d.id === s.previousDeploymentId) && d.imageDigest !== undefined) keep.add(d.imageDigest)
        if ((d.status === "pending" || d.status === "building" || d.status === "starting") && d.imageDigest !== undefined) keep.add(d.imageDigest)
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
