/**
 * npm run bench:network — the node network against anchors in the same run:
 *  - start-to-ready: a busybox httpd replica until its socket answers, with
 *    the node network (a pooled namespace claimed: lease, project set
 *    membership) vs loopback only, and with network_pool_size = 0 (namespace,
 *    veth, address, rules built per start) on a second bridge (median of RUNS
 *    each, alternating; before each timed start the pool is full again)
 *  - TCP endpoint: one connection streaming 256 MiB into a sink in the
 *    replica, and connections/s (16 at a time, accept + 1 byte + close),
 *    through the public port (nftables DNAT) vs HAProxy in TCP mode on a
 *    loopback port forwarding to the same replica
 *  - DNS: `benchDns()` (scripts/bench/dns.ts): Denia's server vs dnsmasq
 * Uses a bridge and subnet of its own, removed at the end. Writes
 * bench/results/network.json. Needs root, gcc, haproxy and dnsmasq.
 */
import { Context, Effect, Exit, Layer, Schema, Scope } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { DeniaConfig } from "../../src/config/Config.js"
import { Database } from "../../src/db/Database.js"
import { CreateProject } from "../../src/domain/project.js"
import { CreateService } from "../../src/domain/service.js"
import { DomainEvent } from "../../src/events/DomainEvent.js"
import { Events } from "../../src/events/Events.js"
import { AddressBook } from "../../src/network/AddressBook.js"
import { EndpointPorts } from "../../src/network/EndpointPorts.js"
import { NodeNetwork, type NodeNetworkApi, teardownNetwork } from "../../src/network/NodeNetwork.js"
import { ProjectsRepo } from "../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../src/repos/ServicesRepo.js"
import { resolveHelperPath } from "../../src/runtime/helperPath.js"
import { Runtime } from "../../src/runtime/Runtime.js"
import { replicaId, type ReplicaSpec } from "../../src/runtime/types.js"
import { buildBusyboxRootfs } from "../../test/support/busybox-rootfs.js"
import { testConfig } from "../../test/support/daemon.js"
import { freeTestSubnet } from "../../test/support/network.js"
import { benchDns, formatDnsBench } from "./dns.js"

const RUNS = Number(process.env["NETWORK_BENCH_RUNS"] ?? "20")
const STREAM_BYTES = 256 * 1024 * 1024
const CONN_SECONDS = 3

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d
const nowMs = () => Number(process.hrtime.bigint()) / 1e6

/** Port 9000: read to EOF then close (sink); port 9001: write one byte and close (connection rate). */
const SERVER_C = `#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
static int listen_on(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  bind(s, (struct sockaddr *)&a, sizeof a); listen(s, 1024); return s;
}
int main(void) {
  signal(SIGPIPE, SIG_IGN);
  if (fork() == 0) {
    int s = listen_on(9001);
    for (;;) { int c = accept(s, 0, 0); if (c >= 0) { write(c, "x", 1); close(c); } }
  }
  int s = listen_on(9000); static char buf[1 << 16];
  for (;;) { int c = accept(s, 0, 0); if (c < 0) continue; while (read(c, buf, sizeof buf) > 0) {} write(c, "k", 1); close(c); }
}
`

const stream = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 20, 1)
    const t0 = nowMs()
    const c = net.connect(port, "127.0.0.1", () => {
      let sent = 0
      const pump = () => {
        while (sent < STREAM_BYTES) {
          sent += chunk.length
          if (!c.write(chunk)) return void c.once("drain", pump)
        }
        c.end()
      }
      pump()
    })
    c.on("data", () => undefined)
    c.on("close", () => resolve((STREAM_BYTES / 1024 / 1024) / ((nowMs() - t0) / 1000)))
    c.on("error", reject)
  })

const connectionRate = async (port: number) => {
  const until = nowMs() + CONN_SECONDS * 1000
  let done = 0
  const one = () =>
    new Promise<void>((resolve) => {
      const c = net.connect(port, "127.0.0.1")
      c.on("data", () => undefined)
      c.on("close", () => resolve())
      c.on("error", () => resolve())
    })
  const worker = async () => {
    while (nowMs() < until) {
      await one()
      done++
    }
  }
  const t0 = nowMs()
  await Promise.all(Array.from({ length: 16 }, worker))
  return done / ((nowMs() - t0) / 1000)
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0))
    })
  })

const waitPort = async (port: number) => {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect({ port, host: "127.0.0.1", timeout: 500 }, () => {
        c.destroy()
        r(true)
      })
      c.on("timeout", () => {
        c.destroy()
        r(false)
      })
      c.on("error", () => r(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`port ${port} never answered`)
}

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-netbench-"))
  const bridge = `dnb${randomBytes(3).toString("hex")}`
  const cleanups: Array<() => Promise<void> | void> = [() => fs.rmSync(dir, { recursive: true, force: true })]
  try {
    execFileSync("gcc", ["-static", "-O2", "-o", path.join(dir, "server"), "-x", "c", "-"], { input: SERVER_C })
    const rootfs = await buildBusyboxRootfs(path.join(dir, "bundle"), { owner: 100000 })
    fs.copyFileSync(path.join(dir, "server"), path.join(rootfs, "bin", "server"))
    fs.chmodSync(path.join(rootfs, "bin", "server"), 0o755)
    const config = await testConfig(dir, {
      network_mode: "bridge",
      network_bridge: bridge,
      network_subnet: freeTestSubnet(),
      tcp_port_range: "45000-45009"
    })
    cleanups.push(() => Effect.runPromise(Effect.ignore(teardownNetwork(bridge))))
    const v = config.values
    const POOL = v.networkPoolSize
    const base = Layer.mergeAll(Database.layer(config.paths.sqlite), DeniaConfig.layer(config), Events.layer)
    const layer = Layer.mergeAll(
      NodeNetwork.layer({ mode: "bridge", bridge, subnet: v.networkSubnet, egress: true, dnsServers: [], dnsPort: 0, poolSize: POOL }).pipe(
        Layer.provideMerge(EndpointPorts.layer),
        Layer.provideMerge(AddressBook.layer),
        Layer.provideMerge(Layer.mergeAll(ProjectsRepo.layer, ServicesRepo.layer).pipe(Layer.provideMerge(base)))
      ),
      Runtime.layer({
        dataDir: path.join(dir, "data"),
        usernsBase: 100000,
        usernsSize: 65536,
        cgroupRoot: "/sys/fs/cgroup/denia-netbench",
        helperPath: resolveHelperPath(),
        stopGraceMs: 2000,
        logMaxBytes: 1 << 20
      })
    )
    const scope = await Effect.runPromise(Scope.make())
    cleanups.push(() => Effect.runPromise(Scope.close(scope, Exit.void)))
    const ctx = await Effect.runPromise(Layer.buildWithScope(layer, scope))
    // The same start without the pool (network_pool_size = 0): a network of its own (bridge, subnet, database).
    const bridge0 = `dnb${randomBytes(3).toString("hex")}`
    const config0 = await testConfig(path.join(dir, "nopool"), {
      network_mode: "bridge",
      network_bridge: bridge0,
      network_subnet: freeTestSubnet()
    })
    cleanups.push(() => Effect.runPromise(Effect.ignore(teardownNetwork(bridge0))))
    const ctx0 = await Effect.runPromise(Layer.buildWithScope(
      NodeNetwork.layer({
        mode: "bridge",
        bridge: bridge0,
        subnet: config0.values.networkSubnet,
        egress: true,
        dnsServers: [],
        dnsPort: 0,
        poolSize: 0
      })
        .pipe(
          Layer.provideMerge(EndpointPorts.layer),
          Layer.provideMerge(AddressBook.layer),
          Layer.provideMerge(Layer.mergeAll(Database.layer(config0.paths.sqlite), DeniaConfig.layer(config0), Events.layer))
        ),
      scope
    ))
    const noPool = Context.get(ctx0, NodeNetwork)
    const run = <A, E>(e: Effect.Effect<A, E, Layer.Layer.Success<typeof layer> | Scope.Scope>) =>
      Effect.runPromise(Effect.provide(Effect.scoped(e), ctx))
    const scoped = async <A, E>(e: Effect.Effect<A, E, Layer.Layer.Success<typeof layer> | Scope.Scope>) => {
      const s = await Effect.runPromise(Scope.make())
      const value = await Effect.runPromise(Effect.provide(Scope.extend(e, s), ctx))
      return { value, close: () => Effect.runPromise(Scope.close(s, Exit.void)) }
    }
    const spec = (replica: string, extra: Partial<ReplicaSpec> = {}): ReplicaSpec => ({
      service: "bench",
      deployment: "d1",
      replica,
      rootfs,
      argv: ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"],
      env: { PATH: "/bin" },
      port: 8080,
      ...extra
    })
    const startNetworked = (replica: string, argv?: ReadonlyArray<string>, network?: NodeNetworkApi) =>
      Effect.gen(function*() {
        const nn = network ?? (yield* NodeNetwork)
        const rt = yield* Runtime
        const ref = { service: "bench", deployment: "d1", replica }
        const a = yield* nn.attach({
          replicaId: replicaId(ref),
          serviceId: "bench",
          serviceName: "bench",
          projectId: "p",
          projectName: "p",
          hostname: replica
        })
        if (a === null) return yield* Effect.dieMessage("network in loopback mode")
        const withNet = spec(replica, { netnsPath: a.netnsPath, etcFiles: a.etcFiles })
        // the raw TCP server has no HTTP port: started without the socket relay, no readiness wait
        const { port: _port, ...raw } = withNet
        const r = yield* rt.start(argv === undefined ? withNet : { ...raw, argv, readiness: null })
        return { address: a.address, replica: r }
      })
    // Before each timed start the pool is full again and its refill done (no background work overlaps a measurement).
    const settle = async () => {
      for (let i = 0; i < 200 && (await run(Effect.flatMap(NodeNetwork, (n) => n.pooled))) < POOL; i++) {
        await new Promise((r) => setTimeout(r, 10))
      }
      await new Promise((r) => setTimeout(r, 20))
    }

    // start-to-ready, alternating; warm-up first
    for (let i = 0; i < 2; i++) {
      await (await scoped(Effect.flatMap(Runtime, (rt) => rt.start(spec(`wl${i}`))))).close()
      await (await scoped(startNetworked(`wn${i}`))).close()
      await (await scoped(startNetworked(`wz${i}`, undefined, noPool))).close()
    }
    const off: Array<number> = []
    const on: Array<number> = []
    const onNoPool: Array<number> = []
    const timed = async (into: Array<number>, e: Effect.Effect<unknown, unknown, Layer.Layer.Success<typeof layer> | Scope.Scope>) => {
      await settle()
      const t0 = nowMs()
      const started = await scoped(e)
      into.push(nowMs() - t0)
      await started.close()
    }
    for (let i = 0; i < RUNS; i++) {
      await timed(off, Effect.flatMap(Runtime, (rt) => rt.start(spec(`l${i}`))))
      await timed(on, startNetworked(`n${i}`))
      await timed(onNoPool, startNetworked(`z${i}`, undefined, noPool))
    }

    // the endpoint: a replica running the C server, its ports published as a service's endpoints
    const target = await scoped(startNetworked("srv", ["/bin/server"]))
    const serviceId = await run(Effect.gen(function*() {
      const p = yield* (yield* ProjectsRepo).create(
        Schema.decodeUnknownSync(CreateProject)({ name: `bench${randomBytes(2).toString("hex")}` })
      )
      const s = yield* (yield* ServicesRepo).create(
        Schema.decodeUnknownSync(CreateService)({ projectId: p.id, name: "srv", source: { type: "image", image: "x/y:1" }, port: 8080 })
      )
      const ports = yield* EndpointPorts
      yield* ports.claim(s.id, [{ protocol: "tcp", port: 9000, publicPort: 45000 }, { protocol: "tcp", port: 9001, publicPort: 45001 }])
      const events = yield* Events
      yield* events.publish(DomainEvent.ServiceUpdated({ projectId: p.id, serviceId: s.id }))
      yield* events.publish(
        DomainEvent.ReplicaStarted({ serviceId: s.id, replicaId: replicaId({ service: "bench", deployment: "d1", replica: "srv" }) })
      )
      return s.id
    }))
    void serviceId
    console.log(`endpoint replica ${target.value.address}; waiting for the forwarded port`)
    await waitPort(45001)
    console.log("forwarded port answers; starting haproxy")
    const [hSink, hConn] = [await freePort(), await freePort()]
    const address = target.value.address
    const cfg = path.join(dir, "haproxy.cfg")
    fs.writeFileSync(
      cfg,
      [
        "global",
        "  maxconn 4000",
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
        `frontend sink`,
        `  bind 127.0.0.1:${hSink}`,
        `  default_backend sink`,
        `backend sink`,
        `  server s ${address}:9000`,
        `frontend conn`,
        `  bind 127.0.0.1:${hConn}`,
        `  default_backend conn`,
        `backend conn`,
        `  server s ${address}:9001`,
        ""
      ].join("\n")
    )
    const haproxy = spawn("haproxy", ["-f", cfg, "-db"], { stdio: "ignore" })
    cleanups.push(() => void haproxy.kill("SIGKILL"))
    await waitPort(hConn)
    console.log("haproxy answers; measuring")
    const tput = { denia: [] as Array<number>, haproxy: [] as Array<number> }
    const rate = { denia: [] as Array<number>, haproxy: [] as Array<number> }
    for (let round_ = 0; round_ < 3; round_++) {
      tput.denia.push(await stream(45000))
      tput.haproxy.push(await stream(hSink))
      rate.denia.push(await connectionRate(45001))
      rate.haproxy.push(await connectionRate(hConn))
    }
    await target.close()

    const dns = await benchDns({ seconds: 3, rounds: 1, concurrency: 32 })
    const result = {
      startToReady: {
        runs: RUNS,
        poolSize: POOL,
        networkOnMs: round(median(on)),
        networkOffMs: round(median(off)),
        overheadMs: round(median(on) - median(off)),
        networkOnNoPoolMs: round(median(onNoPool)),
        overheadNoPoolMs: round(median(onNoPool) - median(off))
      },
      tcpThroughputMiBs: {
        denia: round(median(tput.denia)),
        haproxy: round(median(tput.haproxy)),
        ratio: round(median(tput.denia) / median(tput.haproxy))
      },
      tcpConnectionsPerSecond: {
        denia: round(median(rate.denia), 0),
        haproxy: round(median(rate.haproxy), 0),
        ratio: round(median(rate.denia) / median(rate.haproxy))
      },
      dns
    }
    const r = result
    console.log(
      `start-to-ready  network on ${r.startToReady.networkOnMs} ms  off ${r.startToReady.networkOffMs} ms  overhead ${r.startToReady.overheadMs} ms (median of ${RUNS}, network_pool_size ${POOL})`
    )
    console.log(
      `start-to-ready  network on without pool ${r.startToReady.networkOnNoPoolMs} ms  overhead ${r.startToReady.overheadNoPoolMs} ms (network_pool_size 0)`
    )
    console.log(
      `tcp throughput  denia ${r.tcpThroughputMiBs.denia} MiB/s  haproxy ${r.tcpThroughputMiBs.haproxy} MiB/s  ratio ${r.tcpThroughputMiBs.ratio}×`
    )
    console.log(
      `tcp connections denia ${r.tcpConnectionsPerSecond.denia}/s  haproxy ${r.tcpConnectionsPerSecond.haproxy}/s  ratio ${r.tcpConnectionsPerSecond.ratio}×`
    )
    for (const line of formatDnsBench(dns)) console.log(line)
    const out = path.resolve(import.meta.dirname, "../../bench/results/network.json")
    fs.mkdirSync(path.dirname(out), { recursive: true })
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n")
  } finally {
    for (const c of cleanups.reverse()) await c()
  }
}

await main()
