/** The UDP side: one socket, each datagram through the handler, the response back to its source. */
import * as dgram from "node:dgram"
import * as net from "node:net"
import type { Handler } from "./handler.js"

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
      void handler(msg, rinfo.address, "udp").then((outcome) => {
        if (closed || typeof outcome === "string") return
        socket.send(outcome, rinfo.port, rinfo.address)
      })
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
