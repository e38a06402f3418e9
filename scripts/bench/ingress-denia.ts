/**
 * bench:ingress worker — Denia's proxy data path alone in its own process
 * (route table + replica table + HTTP listener), so its CPU time can be read
 * from /proc. Args: <port> <backend socket> [undici|agent]. Prints "ready" when listening.
 */
import { AccessLogs } from "../../src/ingress/accessLog.js"
import { defaultLimits } from "../../src/ingress/limits.js"
import { listenHttp } from "../../src/ingress/listen.js"
import { createProxy } from "../../src/ingress/proxy.js"
import { ReplicaTable } from "../../src/ingress/ReplicaRegistry.js"
import { buildSnapshot, RouteTable } from "../../src/ingress/routes.js"

const port = Number(process.argv[2])
const socketPath = process.argv[3] ?? ""
const routes = new RouteTable()
routes.set(
  buildSnapshot({
    baseDomain: "localhost",
    controlDomain: "",
    controlTls: false,
    services: [{ id: "bench", name: "bench", projectName: "p", tlsEnabled: false }],
    domains: []
  })
)
const replicas = new ReplicaTable()
replicas.publish("bench", [{ id: "r1", socketPath }])
const proxy = createProxy({
  routes,
  replicas,
  logs: new AccessLogs(1000),
  acmeChallenges: new Map(),
  hasCertificate: () => false,
  control: undefined,
  httpsPort: 443,
  viaToken: "denia-bench",
  upstreamTimeoutMs: 60_000,
  upstream: process.argv[4] === "agent" ? "agent" : "undici"
})
await listenHttp(proxy, defaultLimits, "127.0.0.1", port)
process.stdout.write("ready\n")
process.on("SIGINT", () => process.exit(0))
process.on("SIGTERM", () => process.exit(0))
