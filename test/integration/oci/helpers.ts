import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { makeOciService, type OciOptions, type OciServiceApi, PinnedImages } from "../../../src/oci/index.js"

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0

export interface OciHarness {
  readonly dataDir: string
  readonly oci: OciServiceApi
  /** What the PinnedImages port answers at the next GC (starts empty). */
  pinned: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

/** A fresh OciService on a temp data dir; `close()` closes its scope and removes the dir. */
export const startOci = async (overrides: Partial<OciOptions> & Pick<OciOptions, "insecureRegistries">): Promise<OciHarness> => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "denia-oci-"))
  const scope = await Effect.runPromise(Scope.make())
  const harness = { pinned: [] as ReadonlyArray<string> }
  const oci = await Effect.runPromise(
    makeOciService({
      dataDir,
      usernsBase: 100000,
      usernsSize: 65536,
      cacheVerifyOnHit: "size",
      cacheRetentionDays: 7,
      cacheGcIntervalHours: 0,
      maxUnpackedMb: 512,
      maxAttempts: 2,
      backoffMs: 20,
      ...overrides
    }).pipe(Scope.extend(scope), Effect.provideService(PinnedImages, { digests: Effect.sync(() => harness.pinned) }))
  )
  return Object.assign(harness, {
    dataDir,
    oci,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await fs.rm(dataDir, { recursive: true, force: true })
    }
  })
}

/** Runs an effect, returning its failure (or throwing if it succeeded). */
export const failureOf = async <A, E>(eff: Effect.Effect<A, E>): Promise<E> => {
  const exit = await Effect.runPromiseExit(eff)
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  throw new Error(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : String(exit.cause)}`)
}

/** Every path (relative) under dir, sorted. */
export const listTree = async (dir: string): Promise<Array<string>> => {
  const out: Array<string> = []
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`
      out.push(r)
      if (e.isDirectory()) await walk(r)
    }
  }
  await walk("")
  return out.sort()
}
