import { Chunk, Effect, Option, Ref, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { DeploymentLog } from "../../../src/deploy/DeploymentLog.js"
import { followFile } from "../../../src/deploy/followFile.js"

const dirs: Array<string> = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "denia-follow-"))
  dirs.push(d)
  return d
}

const text = (chunks: Chunk.Chunk<Uint8Array>) => Chunk.toReadonlyArray(chunks).map((c) => Buffer.from(c).toString("utf8")).join("")

// the polls are an hour apart: only the append notification can deliver the lines within the test's timeout
const HOUR = 3_600_000

describe("following a deployment log", () => {
  it("delivers an appended line and the final status when the log notifies, without waiting for the poll", async () => {
    const logsDir = tempDir()
    const program = Effect.gen(function*() {
      const log = yield* DeploymentLog
      yield* log.append("d1", "PENDING", "queued")
      const done = yield* Ref.make(false)
      const finished = Effect.map(Ref.get(done), (d) => (d ? Option.some(`{"status":"healthy"}`) : Option.none()))
      const stream = followFile({
        path: log.pathOf("d1"),
        since: 0,
        finished,
        pollMs: HOUR,
        subscribe: (f) => log.subscribe("d1", f)
      })
      const writer = Effect.gen(function*() {
        yield* Effect.sleep("50 millis")
        yield* log.append("d1", "BUILDING", "building")
        yield* Effect.sleep("50 millis")
        yield* Ref.set(done, true)
        yield* log.append("d1", "HEALTHY", "promoted")
      })
      const [chunks] = yield* Effect.all([Stream.runCollect(stream), writer], { concurrency: 2 })
      return text(chunks)
    })
    const out = await Effect.runPromise(program.pipe(Effect.provide(DeploymentLog.layer(logsDir))))
    expect(out).toMatch(/event: log\ndata: \S+ PENDING queued\n/)
    expect(out).toMatch(/event: log\ndata: \S+ BUILDING building\n/)
    expect(out).toMatch(/event: log\ndata: \S+ HEALTHY promoted\n\nevent: end\ndata: \{"status":"healthy"\}\n\n$/)
  })

  it("notices a line appended before it subscribed (the file is checked after subscribing)", async () => {
    const dir = tempDir()
    const file = path.join(dir, "x.log")
    fs.writeFileSync(file, "one\n")
    let appendedUnseen = false
    const stream = followFile({
      path: file,
      since: 0,
      finished: Effect.succeed(Option.none()),
      pollMs: HOUR,
      // a writer that appends without notifying, right as the follower goes quiet
      subscribe: () => {
        if (!appendedUnseen) {
          appendedUnseen = true
          fs.appendFileSync(file, "two\n")
        }
        return () => undefined
      }
    })
    const out = text(await Effect.runPromise(Stream.runCollect(Stream.take(stream, 3))))
    expect(out).toContain("data: one\n")
    expect(out).toContain("data: two\n")
  })

  it("stops calling a listener once it unsubscribed", async () => {
    const logsDir = tempDir()
    const calls: Array<string> = []
    await Effect.runPromise(
      Effect.gen(function*() {
        const log = yield* DeploymentLog
        const off = log.subscribe("d2", () => calls.push("a"))
        log.subscribe("d3", () => calls.push("other"))
        yield* log.append("d2", "INFO", "first")
        off()
        yield* log.append("d2", "INFO", "second")
      }).pipe(Effect.provide(DeploymentLog.layer(logsDir)))
    )
    expect(calls).toEqual(["a"])
  })
})
