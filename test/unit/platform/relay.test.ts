/**
 * `relay` (platform/archive/children.ts) started after its source already finished — the callers await
 * pipe setup first, and a body that broke off (a cap, an abort) may be destroyed by then: it settles at
 * once instead of waiting forever for events that already fired.
 */
import { PassThrough, Readable } from "node:stream"
import { describe, expect, it } from "vitest"
import { relay } from "../../../src/platform/archive/children.js"

describe("relay", () => {
  it("rejects with the error of a source destroyed before it started", async () => {
    const source = new PassThrough()
    source.on("error", () => undefined)
    source.destroy(new Error("body over the cap"))
    await new Promise((r) => setImmediate(r))
    await expect(relay(source, undefined, () => true)).rejects.toThrow("body over the cap")
  })

  it("rejects when the source was destroyed without an error", async () => {
    const source = new PassThrough()
    source.destroy()
    await new Promise((r) => setImmediate(r))
    await expect(relay(source, undefined, () => true)).rejects.toThrow("the input closed before its end")
  })

  it("resolves for a source that already ended, and relays a live one chunk by chunk", async () => {
    const ended = Readable.from([])
    ended.resume()
    await new Promise((r) => ended.once("end", r))
    await expect(relay(ended, undefined, () => true)).resolves.toBeUndefined()
    const seen: Array<string> = []
    await relay(Readable.from([Buffer.from("a"), Buffer.from("b")]), undefined, (c) => seen.push(c.toString()) > 0)
    expect(seen).toEqual(["a", "b"])
  })
})
