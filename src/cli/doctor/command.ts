import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { detectBuildIsolation } from "../../builder/isolation.js"
import { loadProcessConfig, previewProcessFirstStart } from "../../config/environment.js"
import { networkChecks } from "../../network/doctor.js"
import { runtimeChecks } from "../../runtime/doctor.js"
import { resolveHelperPath } from "../../runtime/helperPath.js"
import { type IdmapSupport, probeIdmappedRootfs } from "../../runtime/idmapProbe.js"
import { printJson, printText } from "../client/output.js"
import * as checks from "./checks.js"

export class DoctorFailed extends Schema.TaggedError<DoctorFailed>()("DoctorFailed", { message: Schema.String }) {}

/** The runtime's own checks for the helper binary and cgroup limits (the others are probed here directly). */
const runtimeVerdicts = (cgroupRoot: string) =>
  Effect.map(runtimeChecks({ helperPath: resolveHelperPath(), cgroupRoot }), (rs) =>
    rs
      .filter((r) => r.name === "runtime helper" || r.name === "cgroup v2 limits")
      .map(
        (r): checks.CheckResult => ({
          name: r.name,
          // missing limits still run workloads (reported honestly); a missing helper runs nothing
          level: r.ok ? "ok" : r.name === "runtime helper" ? "fail" : "warn",
          detail: r.detail,
          ...(r.fix === undefined ? {} : { fix: r.fix })
        })
      ))

/** Whether builds are resource-limited here (ADR 0801): a warning, builds still run at idle priority. */
export const buildIsolationVerdict = (isolation: { readonly mode: "cgroup" | "nice"; readonly reason: string }): checks.CheckResult =>
  isolation.mode === "cgroup"
    ? { name: "build isolation", level: "ok", detail: isolation.reason }
    : {
      name: "build isolation",
      level: "warn",
      detail: isolation.reason,
      fix: "boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1) so builds get their own cgroup with cpu.weight and memory.max"
    }

/** Whether a build's bundle can be made from its own layer trees here (ADR 0822): a warning, builds still deploy. */
export const idmapVerdict = (support: IdmapSupport): checks.CheckResult =>
  support.ok
    ? { name: "idmapped rootfs", level: "ok", detail: support.reason }
    : {
      name: "idmapped rootfs",
      level: "warn",
      detail: `${support.reason}; builds deploy through a registry pull of their image and a prewarm of the base (slower)`,
      fix: "run the daemon as root on Linux ≥ 5.19 with data_dir on a file system that supports idmapped mounts (ext4, xfs, btrfs)"
    }

/** The data dir, or its nearest existing parent before the first start. */
const existingDirOf = (dir: string): string => {
  let cur = path.resolve(dir)
  while (!fs.existsSync(cur) && path.dirname(cur) !== cur) cur = path.dirname(cur)
  return cur
}

const icon = { ok: "ok  ", warn: "warn", fail: "FAIL" } as const

/** `denia doctor`: host readiness, each line ok/warn/fail with a fix. Exit 1 on any fail. Loaded lazily by root.ts. */
export const runDoctor = (json: boolean) =>
  Effect.gen(function*() {
    const results: Array<checks.CheckResult> = []
    const loaded = yield* Effect.either(loadProcessConfig(false))
    results.push(checks.checkKernel(), checks.checkUserNamespaces(), checks.checkOverlay())
    // before the first start there is no file yet: check the host against what that start will use
    const firstStart = loaded._tag === "Left" ? yield* Effect.either(previewProcessFirstStart()) : undefined
    const config = loaded._tag === "Right"
      ? loaded.right
      : firstStart?._tag === "Right"
      ? firstStart.right
      : undefined
    if (loaded._tag === "Right") {
      results.push({ name: "config", level: "ok", detail: `${loaded.right.paths.configFile} is valid` })
    } else if (config !== undefined) {
      results.push({
        name: "config",
        level: "ok",
        detail: `no ${config.paths.configFile} yet: the daemon writes it, with a fresh admin token, on its first start; ` +
          "the checks below use the values it will have"
      })
    } else {
      results.push({ name: "config", level: "fail", detail: loaded.left.line, fix: "fix the key named above (see `denia config`)" })
    }
    if (config !== undefined) {
      results.push(...(yield* runtimeVerdicts(config.values.cgroupRoot)))
      results.push(buildIsolationVerdict(yield* detectBuildIsolation(config.values.cgroupRoot)))
      results.push(idmapVerdict(yield* probeIdmappedRootfs(resolveHelperPath(), existingDirOf(config.paths.dataDir))))
      results.push(...(yield* Effect.promise(() => checks.checkPorts(config))))
      results.push(checks.checkDataDir(config.paths.dataDir))
      const v = config.values
      results.push(
        ...(yield* networkChecks({ mode: v.networkMode, bridge: v.networkBridge, subnet: v.networkSubnet, egress: v.networkEgress }))
      )
    } else {
      results.push(...(yield* runtimeVerdicts("/sys/fs/cgroup/denia")).filter((r) => r.name === "runtime helper"))
      results.push(buildIsolationVerdict(yield* detectBuildIsolation("/sys/fs/cgroup/denia")))
    }
    results.push(checks.checkBinary("buildah", "Dockerfile builds", "apt-get install buildah"))
    // volume backups/restores and upload checks run these (ADR 0902)
    results.push(checks.checkBinary("tar", "volume archives and uploads", "apt-get install tar"))
    results.push(checks.checkBinary("zstd", "compressed volume archives and uploads", "apt-get install zstd"))
    if (json) {
      yield* printJson({ checks: results })
    } else {
      for (const r of results) {
        yield* printText(
          `${icon[r.level]}  ${r.name}: ${r.detail}${r.fix !== undefined && r.level !== "ok" ? `\n      fix: ${r.fix}` : ""}`
        )
      }
    }
    const failed = results.filter((r) => r.level === "fail").length
    if (failed > 0) return yield* new DoctorFailed({ message: `${failed} check(s) failed` })
  })
