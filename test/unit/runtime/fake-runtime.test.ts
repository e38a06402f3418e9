import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import { RuntimeLaunchError } from "../../../src/runtime/errors.js"
import { Runtime } from "../../../src/runtime/Runtime.js"
import type { ReplicaSpec } from "../../../src/runtime/types.js"

const get = (socketPath: string) =>
  Effect.async<{ status: number; body: string }, Error>((resume) => {
    const req = http.request({ socketPath, path: "/", agent: false }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
  })

const spec: ReplicaSpec = { service: "web", deployment: "d1", replica: "r1", rootfs: "/x", argv: ["app"], env: {}, port: 8080 }

describe("FakeRuntime", () => {
  it.live("serves HTTP on a real Unix socket and stops with the scope", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const r = yield* Effect.scoped(
        Effect.gen(function*() {
          const r = yield* rt.start(spec)
          yield* rt.waitReady(r)
          expect(yield* get(r.socketPath ?? "")).toEqual({ status: 200, body: "ok web/d1/r1\n" })
          expect((yield* rt.list).map((x) => x.state)).toEqual(["running"])
          expect((yield* rt.logs("web")).lines.length).toBe(1)
          return r
        })
      )
      expect(yield* rt.list).toEqual([])
      expect(yield* r.exit).toEqual({ code: null, signal: 15 })
      expect((yield* rt.stop(r).pipe(Effect.flip))._tag).toBe("denia/runtime/ReplicaNotFound")
    }).pipe(Effect.provide(Runtime.layerTest())))

  it.live("injects start failures and custom handlers", () =>
    Effect.gen(function*() {
      const rt = yield* Runtime
      const err = yield* rt.start({ ...spec, replica: "bad" }).pipe(Effect.scoped, Effect.flip)
      expect(err).toEqual(new RuntimeLaunchError({ stage: "exec", message: "boom" }))
      const r = yield* rt.start(spec)
      expect(yield* get(r.socketPath ?? "")).toEqual({ status: 503, body: "nope" })
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Runtime.layerTest({
          failStart: (s) => (s.replica === "bad" ? new RuntimeLaunchError({ stage: "exec", message: "boom" }) : undefined),
          handler: (_s, _req, res) => {
            res.writeHead(503)
            res.end("nope")
          }
        })
      )
    ))
})
