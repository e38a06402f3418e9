/** Binding the public listeners (plain Node; the `Ingress` layer scopes them). */
import * as http from "node:http"
import * as https from "node:https"
import type * as tls from "node:tls"
import { hardenServer, type ServerLimits, serverOptions } from "./limits.js"
import type { Proxy } from "./proxy.js"

const listen = (server: http.Server, host: string, port: number): Promise<http.Server> =>
  new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once("error", onError)
    server.listen({ host, port }, () => {
      server.off("error", onError)
      resolve(server)
    })
  })

export const listenHttp = (proxy: Proxy, limits: ServerLimits, host: string, port: number): Promise<http.Server> => {
  const server = http.createServer(serverOptions(limits), proxy.onRequest(false))
  hardenServer(server, limits)
  server.on("upgrade", proxy.onUpgrade(false))
  return listen(server, host, port)
}

/**
 * HTTPS with per-SNI certificates. There is no default certificate: a client
 * without SNI or with an unknown name fails the handshake. ALPN offers
 * http/1.1 only.
 */
export const listenHttps = (
  proxy: Proxy,
  limits: ServerLimits,
  host: string,
  port: number,
  contextFor: (servername: string) => tls.SecureContext | undefined
): Promise<http.Server> => {
  const server = https.createServer(
    {
      ...serverOptions(limits),
      ALPNProtocols: ["http/1.1"],
      minVersion: "TLSv1.2",
      SNICallback: (servername, cb) => {
        const ctx = contextFor(servername.toLowerCase())
        if (ctx === undefined) cb(new Error(`no certificate for ${servername}`))
        else cb(null, ctx)
      }
    },
    proxy.onRequest(true)
  )
  hardenServer(server, limits)
  server.on("upgrade", proxy.onUpgrade(true))
  server.on("tlsClientError", (_err, socket) => socket.destroy())
  return listen(server, host, port)
}

/** Closes a listener and every connection on it. */
export const closeServer = (server: http.Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
