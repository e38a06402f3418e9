/**
 * The TCP health check through the replica's socket relay. The relay (pid 1
 * inside the replica, `runtime/native/relay.c`) accepts every connection on
 * the Unix socket, connects to `127.0.0.1:<port>`, and only then reads from
 * the client; when that connect fails it closes the client without reading.
 *
 * So the probe writes two bytes (`\r\n`, ignored by line and HTTP protocols)
 * and half-closes:
 * - connect failed inside: the relay closes with our bytes unread, which a
 *   Unix socket reports as ECONNRESET (or EPIPE if it closed before the write);
 * - connected: the relay read our bytes and our EOF and passed them on, so
 *   whatever comes back — data, or a clean EOF once the service closes — can
 *   only follow a connection that was accepted.
 * A service that neither answers nor closes after EOF leaves the attempt
 * inconclusive (retried until the health timeout).
 */
import { Effect } from "effect"
import * as net from "node:net"

export type TcpProbe =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: "refused" | "unreachable" | "silent"; readonly reason: string }

const PROBE_BYTES = "\r\n"

export const probeTcpThroughRelay = (socketPath: string, timeoutMs: number): Effect.Effect<TcpProbe> =>
  Effect.async<TcpProbe>((resume) => {
    let settled = false
    let connected = false
    let wrote = false
    let gotData = false
    let ended = false
    let error: NodeJS.ErrnoException | undefined
    const socket = net.createConnection({ path: socketPath, allowHalfOpen: true })
    const finish = (verdict: TcpProbe) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed(verdict))
    }
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          kind: "silent",
          reason: connected ? "the connection stayed open without an answer or a close" : "the replica's socket did not accept"
        }),
      timeoutMs
    )
    socket.on("connect", () => {
      connected = true
      socket.write(PROBE_BYTES, (e) => {
        if (e === undefined || e === null) wrote = true
      })
      socket.end()
    })
    socket.on("data", () => {
      gotData = true
      finish({ ok: true })
    })
    socket.on("end", () => {
      ended = true
    })
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e
    })
    socket.on("close", () => {
      if (gotData || (ended && wrote && error === undefined)) return finish({ ok: true })
      const code = error?.code ?? ""
      if (!connected) {
        return finish({ ok: false, kind: "unreachable", reason: code === "" ? "the replica's socket closed" : `socket ${code}` })
      }
      finish({ ok: false, kind: "refused", reason: code === "" ? "the relay closed the connection" : `relay ${code}` })
    })
    // interrupted (the workload exited, the gate timed out): drop the connection, answer nothing
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
      socket.destroy()
    })
  })
