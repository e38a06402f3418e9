/**
 * Whether a replica's rootfs on `dir`'s file system can be mounted idmapped (ADR 0822): the helper's
 * `probe-idmap` makes an idmapped clone there and mounts an overlay on it, in a mount namespace of its
 * own. Needs root, Linux ≥ 5.19 and a file system with idmapped mounts; the reason says which is missing.
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"

export interface IdmapSupport {
  readonly ok: boolean
  /** One line for the daemon log and `denia doctor`. */
  readonly reason: string
}

export const probeIdmappedRootfs = (helperPath: string, dir: string): Effect.Effect<IdmapSupport> =>
  Effect.async<IdmapSupport>((resume) => {
    if (process.getuid?.() !== 0) {
      resume(Effect.succeed({ ok: false, reason: "not running as root" }))
      return
    }
    const child = execFile(helperPath, ["probe-idmap", dir], { timeout: 10_000 }, (error, stdout, stderr) => {
      const line = (`${stdout}`.trim().split("\n")[0] ?? "").replace(/^idmapped rootfs: /, "")
      resume(Effect.succeed(
        error === null && line === "ok"
          ? { ok: true, reason: "yes (builds deploy from their own layer trees)" }
          : { ok: false, reason: line !== "" ? line : `the helper failed (${`${stderr}`.trim() || String(error)})` }
      ))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })
