/**
 * Denia pulls in one long-lived process, like the daemon (bundled to plain
 * Node by bench:oci): a cold pull (empty cache), a pull whose bundle already
 * exists, then a warm pull (layers cached, bundle deleted → re-unpack).
 * argv: <dataDir> <reference> <insecureRegistry>
 * stdout: {"coldMs","coldCpuMs","reusedMs","warmMs","warmCpuMs","peakRssMb" (VmHWM after the cold pull),
 *          "baselineRssMb" (before it),"finalPeakRssMb","digest"}
 */
import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import { anonymous, makeOciService, PinnedImages } from "../../src/oci/index.js"

const vm = (field: "VmHWM" | "VmRSS"): number => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync("/proc/self/status", "utf8"))
  return m?.[1] !== undefined ? Number(m[1]) / 1024 : 0
}

const [dataDir, reference, insecure] = process.argv.slice(2)
if (dataDir === undefined || reference === undefined || insecure === undefined) {
  process.stderr.write("usage: oci-pull-worker <dataDir> <reference> <insecureRegistry>\n")
  process.exit(2)
}

const program = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const oci = yield* makeOciService({
    dataDir,
    usernsBase: 100000,
    usernsSize: 65536,
    insecureRegistries: [insecure],
    cacheVerifyOnHit: "size",
    cacheRetentionDays: 7,
    cacheGcIntervalHours: 0,
    maxUnpackedMb: 4096
  }).pipe(Scope.extend(scope))
  const timed = <A, E>(eff: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      const a = yield* eff
      const c = process.cpuUsage(c0)
      return [a, performance.now() - t0, (c.user + c.system) / 1000] as const
    })
  const baselineRssMb = vm("VmRSS")
  const [cold, coldMs, coldCpuMs] = yield* timed(oci.pull(reference, anonymous))
  const peakRssMb = vm("VmHWM")
  const [reused, reusedMs] = yield* timed(oci.pull(reference, anonymous))
  if (!reused.reused) return yield* Effect.die(new Error("second pull did not reuse the bundle"))
  yield* Effect.promise(() => fs.promises.rm(cold.bundleDir, { recursive: true, force: true }))
  const [warm, warmMs, warmCpuMs] = yield* timed(oci.pull(reference, anonymous))
  if (warm.reused) return yield* Effect.die(new Error("warm pull did not re-unpack"))
  yield* Scope.close(scope, Exit.void)
  return { coldMs, coldCpuMs, warmCpuMs, reusedMs, warmMs, peakRssMb, baselineRssMb, finalPeakRssMb: vm("VmHWM"), digest: cold.digest }
})

Effect.runPromise(program.pipe(Effect.provideService(PinnedImages, { digests: Effect.succeed([]) }))).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
