/** The UDP side: one socket, each datagram through the handler, the response back to its source. */
import * as dgram from "node:dgram"
import * as net from "node:net"
import type { Handler, Outcome } from "./handler.js"

export interface UdpListener {
  readonly port: number
  close(): Promise<void>
}

export const listenUdp = (address: string, port: number, handler: Handler): Promise<UdpListener> =>
  new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(address) ? "udp6" : "udp4")
    let closed = false
    const onBindError = (e: Error): void => {
      closed = true
      socket.close()
      reject(e)
    }
    socket.once("error", onBindError)
    socket.on("message", (msg, rinfo) => {
      if (rinfo.port === 0) return
      const reply = (outcome: Outcome): void => {
        if (!closed && typeof outcome !== "string") socket.send(outcome, rinfo.port, rinfo.address)
      }
      const outcome = handler(msg, rinfo.address, "udp")
      if (outcome instanceof Promise) void outcome.then(reply)
      else reply(outcome)
    })
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off("error", onBindError)
      // Send errors (ICMP unreachable, buffer full) must not bring the server down.
      socket.on("error", () => undefined)
      resolve({
        port: socket.address().port,
        close: () =>
          new Promise((done) => {
            if (closed) return done()
            closed = true
            socket.close(() => done())
          })
      })
    })
  })
