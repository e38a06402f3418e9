/** Host checks for `denia doctor` / `status` (no root needed): the helper
 * binary, user namespaces, overlayfs and what cgroup v2 offers. */
import { Effect } from "effect"
import * as fs from "node:fs"
import { detectCgroup } from "./cgroup.js"

export interface RuntimeCheck {
  readonly name: string
  readonly ok: boolean
  readonly detail: string
  /** How to fix it, when not ok. */
  readonly fix?: string
}

const readOr = (p: string, fallback: string): string => {
  try {
    return fs.readFileSync(p, "utf8")
  } catch {
    return fallback
  }
}

export const runtimeChecks = (
  options: { readonly helperPath: string; readonly cgroupRoot: string }
): Effect.Effect<ReadonlyArray<RuntimeCheck>> =>
  Effect.gen(function*() {
    const checks: Array<RuntimeCheck> = []
    const st = yield* Effect.sync(() => fs.statSync(options.helperPath, { throwIfNoEntry: false }))
    const helperOk = st !== undefined && st.isFile() && (st.mode & 0o111) !== 0
    checks.push(
      helperOk
        ? { name: "runtime helper", ok: true, detail: options.helperPath }
        : {
          name: "runtime helper",
          ok: false,
          detail: `${options.helperPath} is missing or not executable`,
          fix: "apt-get install gcc libc6-dev pkg-config libseccomp-dev && npm run build:native"
        }
    )
    const maxUserns = Number(readOr("/proc/sys/user/max_user_namespaces", "0").trim())
    checks.push(
      maxUserns > 0
        ? { name: "user namespaces", ok: true, detail: `max_user_namespaces=${maxUserns}` }
        : { name: "user namespaces", ok: false, detail: "user namespaces are disabled", fix: "sysctl -w user.max_user_namespaces=15000" }
    )
    const overlay = /\toverlay\n/.test(readOr("/proc/filesystems", ""))
    checks.push(
      overlay
        ? { name: "overlayfs", ok: true, detail: "overlay listed in /proc/filesystems" }
        : { name: "overlayfs", ok: false, detail: "overlay filesystem not available", fix: "modprobe overlay" }
    )
    const cg = yield* detectCgroup(options.cgroupRoot)
    checks.push(
      cg.mode === "enforced"
        ? { name: "cgroup v2 limits", ok: true, detail: cg.reason }
        : {
          name: "cgroup v2 limits",
          ok: false,
          detail: `limits: not enforced (${cg.mode}: ${cg.reason})`,
          fix: "boot with systemd.unified_cgroup_hierarchy=1 and delegate cpu, memory, pids to cgroup_root (Delegate=yes)"
        }
    )
    return checks
  })
