import * as net from "node:net"

/** A currently free TCP port on 127.0.0.1 (the OS picks it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** `n` distinct free ports (each held open until all are chosen, so the OS cannot hand out one twice). */
export const freePorts = (n: number): Promise<Array<number>> =>
  new Promise((resolve, reject) => {
    const servers: Array<net.Server> = []
    const ports: Array<number> = []
    const next = (): void => {
      if (ports.length === n) {
        let open = servers.length
        for (const s of servers) s.close(() => (--open === 0 ? resolve(ports) : undefined))
        return
      }
      const server = net.createServer()
      server.once("error", reject)
      server.listen({ host: "127.0.0.1", port: 0 }, () => {
        const address = server.address()
        servers.push(server)
        ports.push(typeof address === "object" && address !== null ? address.port : 0)
        next()
      })
    }
    next()
  })
