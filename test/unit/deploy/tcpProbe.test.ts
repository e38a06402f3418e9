/**
 * The TCP health probe through a replica's socket, against servers that
 * behave like the helper's relay: connected to a service that closes or
 * answers (pass), refusing by closing with the probe's bytes unread (fail),
 * a connection left open (inconclusive), no socket at all.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { probeTcpThroughRelay } from "../../../src/deploy/tcpProbe.js"

const serve = (onConnection: (c: net.Socket) => void, options: net.ServerOpts = {}) =>
  Effect.acquireRelease(
    Effect.async<{ readonly socketPath: string; readonly received: Array<string>; readonly server: net.Server; readonly dir: string }>((
      resume
    ) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-tcp-probe-"))
      const socketPath = path.join(dir, "service.sock")
      const received: Array<string> = []
      const server = net.createServer(options, (c) => {
        c.on("data", (d) => received.push(d.toString("latin1")))
        c.on("error", () => undefined)
        onConnection(c)
      })
      server.listen(socketPath, () => resume(Effect.succeed({ socketPath, received, server, dir })))
    }),
    (s) =>
      Effect.sync(() => {
        s.server.close()
        fs.rmSync(s.dir, { recursive: true, force: true })
      })
  )

describe("TCP health probe through the relay", () => {
  it.scoped("passes when the connection was accepted and the service closes after our EOF", () =>
    Effect.gen(function*() {
      const s = yield* serve(() => undefined)
      expect(yield* probeTcpThroughRelay(s.socketPath, 5_000)).toEqual({ ok: true })
      expect(s.received.join("")).toBe("\r\n")
    }))

  it.scoped("passes when the service speaks first (a greeting)", () =>
    Effect.gen(function*() {
      const s = yield* serve((c) => c.write("220 ready\r\n"), { allowHalfOpen: true })
      expect(yield* probeTcpThroughRelay(s.socketPath, 5_000)).toEqual({ ok: true })
    }))

  it.scoped("fails when the relay closes with the probe's bytes unread (nothing listens inside)", () =>
    Effect.gen(function*() {
      const late = yield* serve((c) => setTimeout(() => c.destroy(), 50), { pauseOnConnect: true })
      expect(yield* probeTcpThroughRelay(late.socketPath, 5_000)).toMatchObject({ ok: false, kind: "refused" })
      const early = yield* serve((c) => c.destroy(), { pauseOnConnect: true })
      expect(yield* probeTcpThroughRelay(early.socketPath, 5_000)).toMatchObject({ ok: false, kind: "refused" })
    }))

  it.scoped("a connection that stays open without an answer or a close is inconclusive, not a pass", () =>
    Effect.gen(function*() {
      const s = yield* serve(() => undefined, { pauseOnConnect: true, allowHalfOpen: true })
      expect(yield* probeTcpThroughRelay(s.socketPath, 300)).toMatchObject({ ok: false, kind: "silent" })
    }))

  it.effect("no socket: the replica is not accepting connections", () =>
    Effect.gen(function*() {
      const r = yield* probeTcpThroughRelay(path.join(os.tmpdir(), "denia-no-such-dir", "service.sock"), 1_000)
      expect(r).toMatchObject({ ok: false, kind: "unreachable" })
    }))
})
