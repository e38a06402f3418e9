import { Effect, Schema } from "effect"
import { loadProcessConfig } from "../../config/environment.js"
import { networkChecks } from "../../network/doctor.js"
import { runtimeChecks } from "../../runtime/doctor.js"
import { resolveHelperPath } from "../../runtime/helperPath.js"
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

const icon = { ok: "ok  ", warn: "warn", fail: "FAIL" } as const

/** `denia doctor`: host readiness, each line ok/warn/fail with a fix. Exit 1 on any fail. Loaded lazily by root.ts. */
export const runDoctor = (json: boolean) =>
  Effect.gen(function*() {
    const results: Array<checks.CheckResult> = []
    const loaded = yield* Effect.either(loadProcessConfig(false))
    results.push(checks.checkKernel(), checks.checkUserNamespaces(), checks.checkOverlay())
    if (loaded._tag === "Left") {
      results.push({ name: "config", level: "fail", detail: loaded.left.line, fix: "fix the key named above (see `denia config`)" })
    } else {
      const config = loaded.right
      results.push({ name: "config", level: "ok", detail: `${config.paths.configFile} is valid` })
      results.push(...(yield* runtimeVerdicts(config.values.cgroupRoot)))
      results.push(...(yield* Effect.promise(() => checks.checkPorts(config))))
      results.push(checks.checkDataDir(config.paths.dataDir))
      const v = config.values
      results.push(
        ...(yield* networkChecks({ mode: v.networkMode, bridge: v.networkBridge, subnet: v.networkSubnet, egress: v.networkEgress }))
      )
    }
    if (loaded._tag === "Left") results.push(...(yield* runtimeVerdicts("/sys/fs/cgroup/denia")).filter((r) => r.name === "runtime helper"))
    results.push(checks.checkBinary("buildah", "Dockerfile builds", "apt-get install buildah"))
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
