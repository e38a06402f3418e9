/** The Unix-socket HTTP probe: status on an answer, the socket's own error text on a dropped connection, a timeout, interruption. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import { afterAll } from "vitest"
import { probeFailureReason } from "../../../src/deploy/failureMessages.js"
import { probeUnixHttp } from "../../../src/platform/unixHttpProbe.js"
import { makeTempDir } from "../../support/tempDir.js"

const temp = makeTempDir()
afterAll(() => temp.cleanup())

let n = 0
const socketPath = () => path.join(temp.dir, `probe-${++n}.sock`)

/** Listens on a fresh socket for the test's scope. */
const serve = (server: net.Server) =>
  Effect.acquireRelease(
    Effect.async<string>((resume) => {
      const sp = socketPath()
      server.listen(sp, () => resume(Effect.succeed(sp)))
    }),
    () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe("probeUnixHttp", () => {
  it.scoped("any status line is an answer, with its code and the caller's user agent", () =>
    Effect.gen(function*() {
      const agents: Array<string | undefined> = []
      const sp = yield* serve(
        http.createServer((req, res) => {
          agents.push(req.headers["user-agent"])
          res.statusCode = req.url === "/down" ? 503 : 204
          res.end()
        })
      )
      expect(yield* probeUnixHttp({ socketPath: sp, path: "/down", timeoutMs: 5000, userAgent: "denia-test" })).toEqual({
        answered: true,
        status: 503
      })
      expect(yield* probeUnixHttp({ socketPath: sp, path: "/", timeoutMs: 5000, userAgent: "denia-test" })).toEqual({
        answered: true,
        status: 204
      })
      expect(agents).toEqual(["denia-test", "denia-test"])
    }))

  it.scoped("a connection the replica's relay drops keeps the socket error, which deploy reports as nothing listening", () =>
    Effect.gen(function*() {
      const sp = yield* serve(net.createServer((socket) => socket.destroy()))
      const probe = yield* probeUnixHttp({ socketPath: sp, path: "/", timeoutMs: 5000, userAgent: "denia-test" })
      expect(probe.answered).toBe(false)
      if (probe.answered) return
      expect(probe.reason).toMatch(/EPIPE|ECONNRESET|socket hang up/)
      expect(probeFailureReason(probe.reason, 8080, [3000])).toBe(
        "nothing listens on port 8080 inside the replica (the image exposes 3000)"
      )
    }))

  it.effect("no socket file is not an answer (ENOENT), reported as not accepting", () =>
    Effect.gen(function*() {
      const probe = yield* probeUnixHttp({ socketPath: socketPath(), path: "/", timeoutMs: 5000, userAgent: "denia-test" })
      expect(probe.answered).toBe(false)
      if (probe.answered) return
      expect(probe.reason).toMatch(/ENOENT/)
      expect(probeFailureReason(probe.reason, 80, [])).toBe("the replica is not accepting connections")
    }))

  it.scoped("a server that never answers runs into the timeout", () =>
    Effect.gen(function*() {
      // reads (and drops) the request so the connection's end is seen
      const sp = yield* serve(net.createServer((socket) => socket.resume()))
      expect(yield* probeUnixHttp({ socketPath: sp, path: "/", timeoutMs: 50, userAgent: "denia-test" })).toEqual({
        answered: false,
        reason: "no answer within 50 ms"
      })
    }))

  it.scoped("interrupting a probe closes its connection", () =>
    Effect.gen(function*() {
      const connected = yield* Deferred.make<void>()
      const closed = yield* Deferred.make<void>()
      const sp = yield* serve(
        net.createServer((socket) => {
          socket.on("close", () => Deferred.unsafeDone(closed, Effect.void))
          socket.resume()
          Deferred.unsafeDone(connected, Effect.void)
        })
      )
      const fiber = yield* Effect.fork(probeUnixHttp({ socketPath: sp, path: "/", timeoutMs: 60_000, userAgent: "denia-test" }))
      yield* Deferred.await(connected)
      yield* Fiber.interrupt(fiber)
      yield* Deferred.await(closed)
    }))
})
