import { Effect, Exit, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { busyLine, holdDataDirLock, LOCK_FILE } from "../../../src/daemon/dataDirLock.js"
import { makeTempDir } from "../../support/tempDir.js"

const temps: Array<() => void> = []
afterEach(() => temps.splice(0).forEach((c) => c()))

const hold = async (dataDir: string) => {
  const scope = await Effect.runPromise(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.extend(holdDataDirLock(dataDir), scope))
  return { exit, release: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

describe("data dir lock", () => {
  it("a second holder is refused with the first one's pid until the first releases", async () => {
    const t = makeTempDir()
    temps.push(t.cleanup)
    const dataDir = path.join(t.dir, "data")
    const first = await hold(dataDir)
    expect(Exit.isSuccess(first.exit)).toBe(true)
    expect(fs.readFileSync(path.join(dataDir, LOCK_FILE), "utf8").trim()).toBe(String(process.pid))
    const second = await hold(dataDir)
    expect(Exit.isFailure(second.exit)).toBe(true)
    if (Exit.isFailure(second.exit)) {
      const error = second.exit.cause._tag === "Fail" ? second.exit.cause.error : undefined
      expect(error).toMatchObject({
        _tag: "DataDirBusy",
        pid: process.pid,
        message: `another daemon (pid ${process.pid}) is using ${dataDir}`
      })
    }
    await first.release()
    const third = await hold(dataDir)
    expect(Exit.isSuccess(third.exit)).toBe(true)
    await third.release()
  })

  it("in a terminal the refusal points at the client commands", () => {
    expect(busyLine("/var/lib/denia", 42, false)).toBe("denia: another daemon (pid 42) is using /var/lib/denia")
    expect(busyLine("/var/lib/denia", 42, true)).toBe(
      "denia: another daemon (pid 42) is using /var/lib/denia\nrun 'denia --help' for the client commands"
    )
  })
})
