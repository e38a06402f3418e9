/**
 * The long-lived `nft -i` session (privileged, on a table of its own): a line
 * is one transaction, nft's errors come back with the line they belong to,
 * and a killed process is replaced for the next line.
 */
import { Effect, Exit, Scope } from "effect"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { afterAll, describe, expect, it } from "vitest"
import { makeNftSession, type NftSession } from "../../../src/network/nftSession.js"

const table = `denia_sess${randomBytes(3).toString("hex")}`
const nft = (...args: Array<string>) => execFileSync("nft", args, { encoding: "utf8" })
const elements = () => nft("list", "set", "inet", table, "s")

describe("nft session (privileged)", () => {
  const scope = Effect.runSync(Scope.make())
  const session = Effect.runSync(Scope.extend(makeNftSession({ timeoutMs: 5000 }), scope))
  const run = (commands: ReadonlyArray<string>) => Effect.runPromise(Effect.either(session.run("test", commands)))
  const s: NftSession = session

  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    execFileSync("nft", ["-f", "-"], { input: `table inet ${table}\ndelete table inet ${table}\n` })
  })

  it("applies a line of commands", async () => {
    expect(await run([`add table inet ${table}`, `add set inet ${table} s { type ipv4_addr; }`])).toMatchObject({ _tag: "Right" })
    expect(await run([`add element inet ${table} s { 10.1.2.3 }`])).toMatchObject({ _tag: "Right" })
    expect(elements()).toContain("10.1.2.3")
  })

  it("reports nft's error for the failing line and applies none of its commands", async () => {
    const r = await run([`add element inet ${table} s { 10.1.2.4 }`, `add element inet ${table} nosuchset { 10.1.2.5 }`])
    expect(r._tag).toBe("Left")
    expect(r._tag === "Left" ? r.left.message : "").toContain("No such file or directory")
    expect(elements()).not.toContain("10.1.2.4")
    // the next line is judged on its own
    expect(await run([`add element inet ${table} s { 10.1.2.6 }`])).toMatchObject({ _tag: "Right" })
    expect(elements()).toContain("10.1.2.6")
  })

  it("refuses a command that spans lines", async () => {
    const r = await run([`add element inet ${table} s { 10.1.2.7 }\nflush ruleset`])
    expect(r._tag === "Left" ? r.left.message : "").toContain("single line")
    expect(elements()).not.toContain("10.1.2.7")
  })

  it("starts a new nft -i when the old one was killed", async () => {
    const pid = await Effect.runPromise(s.pid)
    expect(pid).toBeTypeOf("number")
    process.kill(pid ?? 0, "SIGKILL")
    // the line sent into the dying process fails or goes through a new one; either way the session recovers
    await run([`add element inet ${table} s { 10.1.2.8 }`])
    expect(await run([`add element inet ${table} s { 10.1.2.9 }`])).toMatchObject({ _tag: "Right" })
    expect(elements()).toContain("10.1.2.9")
    expect(await Effect.runPromise(s.pid)).not.toBe(pid)
  })
})
