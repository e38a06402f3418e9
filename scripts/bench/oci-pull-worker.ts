/**
 * One Denia pull in its own process (bundled to plain Node by bench:oci) so
 * its peak RSS is that of the OCI pipeline alone.
 * argv: <dataDir> <reference> <insecureRegistry>
 * stdout: {"ms":…, "peakRssMb":…, "baselineRssMb":…, "digest":"…", "reused":bool}
 */
import * as fs from "node:fs"
import { Effect, Exit, Scope } from "effect"
import { anonymous, makeOciService } from "../../src/oci/index.js"

const vm = (field: "VmHWM" | "VmRSS"): number => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync("/proc/self/status", "utf8"))
  return m?.[1] !== undefined ? Number(m[1]) / 1024 : 0
}

const [dataDir, reference, insecure] = process.argv.slice(2)
if (dataDir === undefined || reference === undefined || insecure === undefined) {
  process.stderr.write("usage: oci-pull-worker <dataDir> <reference> <insecureRegistry>\n")
  process.exit(2)
}

const program = Effect.gen(function* () {
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
  const baselineRssMb = vm("VmRSS")
  const t0 = performance.now()
  const img = yield* oci.pull(reference, anonymous)
  const ms = performance.now() - t0
  yield* Scope.close(scope, Exit.void)
  return { ms, peakRssMb: vm("VmHWM"), baselineRssMb, digest: img.digest, reused: img.reused }
})

Effect.runPromise(program).then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
