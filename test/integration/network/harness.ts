/**
 * Privileged harness for the node network without the runtime: a
 * `NodeNetwork` over a temporary database, "replicas" that are plain
 * namespaces it attaches, and Node one-liners run inside them with
 * `ip netns exec` (TCP servers that answer `<name> <peer address>`, a UDP
 * echo, a client that prints what it got or why not).
 */
import { Effect, Exit, Layer, type Scope as ScopeNs } from "effect"
import { Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { DeniaConfig } from "../../../src/config/Config.js"
import { Database } from "../../../src/db/Database.js"
import { Events } from "../../../src/events/Events.js"
import { AddressBook } from "../../../src/network/AddressBook.js"
import { EndpointPorts } from "../../../src/network/EndpointPorts.js"
import { NodeNetwork } from "../../../src/network/NodeNetwork.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { testConfig } from "../../support/daemon.js"

export const networkLayer = async (dir: string, overrides: Record<string, unknown>) => {
  const config = await testConfig(dir, overrides)
  const v = config.values
  const db = Database.layer(config.paths.sqlite)
  const base = Layer.mergeAll(db, DeniaConfig.layer(config), Events.layer)
  const layer = NodeNetwork.layer({
    mode: v.networkMode,
    bridge: v.networkBridge,
    subnet: v.networkSubnet,
    egress: v.networkEgress,
    dnsServers: v.dnsServers,
    poolSize: v.networkPoolSize
  }).pipe(
    Layer.provideMerge(EndpointPorts.layer),
    Layer.provideMerge(AddressBook.layer),
    Layer.provideMerge(Layer.mergeAll(ProjectsRepo.layer, ServicesRepo.layer).pipe(Layer.provideMerge(base)))
  )
  const scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    config,
    run: <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<typeof layer> | ScopeNs.Scope>) =>
      Effect.runPromise(Effect.provide(Effect.scoped(effect), context)),
    /** Runs `effect` in a scope that lives until `close` (an attached replica). */
    runScoped: async <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<typeof layer> | ScopeNs.Scope>) => {
      const s = await Effect.runPromise(Scope.make())
      const value = await Effect.runPromise(Effect.provide(Scope.extend(effect, s), context))
      return { value, close: () => Effect.runPromise(Scope.close(s, Exit.void)) }
    },
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const children: Array<ChildProcess> = []

/** Kills every process `serve` started. */
export const killServers = () => {
  for (const c of children.splice(0)) c.kill("SIGKILL")
}

const TCP_SERVER =
  "const [n,p]=process.argv.slice(1);require('net').createServer(s=>{s.on('error',()=>{});s.end(n+' '+s.remoteAddress)}).listen(+p,'0.0.0.0',()=>console.log('up'))"
const UDP_ECHO =
  "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(+process.argv[1],()=>console.log('up'))"

/** Starts a long-running Node script (inside `netns` unless null) and waits for its `up` line. */
const start = (netns: string | null, script: string, args: ReadonlyArray<string>) =>
  new Promise<void>((resolve, reject) => {
    const argv = ["-e", script, ...args]
    const child = netns === null ? spawn("node", argv) : spawn("ip", ["netns", "exec", netns, "node", ...argv])
    children.push(child)
    child.stdout.on("data", (b: Buffer) => (b.toString().includes("up") ? resolve() : undefined))
    child.on("exit", (code) => reject(new Error(`server exited (${String(code)})`)))
  })

/** A TCP server answering `<name> <peer address>` and closing. */
export const serveTcp = (netns: string | null, name: string, port: number) => start(netns, TCP_SERVER, [name, String(port)])

export const serveUdpEcho = (netns: string | null, port: number) => start(netns, UDP_ECHO, [String(port)])

const TCP_CLIENT =
  "const [h,p,t]=process.argv.slice(1);const c=require('net').connect(+p,h);let d='';c.setTimeout(+t,()=>{console.log('TIMEOUT');process.exit(0)});c.on('data',x=>d+=x);c.on('end',()=>{console.log('GOT '+d);process.exit(0)});c.on('error',e=>{console.log('ERR '+e.code);process.exit(0)})"
// the ping is sent again every 500 ms until an echo or the timeout: one lost datagram is not an answer
const UDP_CLIENT =
  "const [h,p,t,src]=process.argv.slice(1);const s=require('dgram').createSocket('udp4');const go=()=>{s.send('ping',+p,h);setInterval(()=>s.send('ping',+p,h),500)};s.on('message',m=>{console.log('GOT '+m);process.exit(0)});setTimeout(()=>{console.log('TIMEOUT');process.exit(0)},+t);src?s.bind(0,src,go):go()"

const capture = (netns: string | null, script: string, args: ReadonlyArray<string>) =>
  new Promise<string>((resolve) => {
    const argv = ["-e", script, ...args]
    const child = netns === null ? spawn("node", argv) : spawn("ip", ["netns", "exec", netns, "node", ...argv])
    let out = ""
    child.stdout.on("data", (b: Buffer) => (out += b.toString()))
    child.on("close", () => resolve(out.trim()))
  })

/**
 * How long a probe waits for an answer. A probe expected to be dropped waits `DROPPED_MS` (the test
 * takes that long); one expected to pass waits up to `REACH_MS`, so a loaded host's slow first packet
 * (ARP, a SYN retransmit) is not read as a drop. Neither is a performance bound.
 */
export const DROPPED_MS = 1500
export const REACH_MS = 10_000

/** `GOT <reply>`, `ERR <code>` or `TIMEOUT` (after `timeoutMs`: REACH_MS where an answer is expected). */
export const tcpConnect = (netns: string | null, host: string, port: number, timeoutMs = DROPPED_MS) =>
  capture(netns, TCP_CLIENT, [host, String(port), String(timeoutMs)])

/** Sends `ping` (from `source` when given) and prints the echo: `GOT ping` or `TIMEOUT`. */
export const udpPing = (netns: string | null, host: string, port: number, source?: string, timeoutMs = DROPPED_MS) =>
  capture(netns, UDP_CLIENT, [host, String(port), String(timeoutMs), ...(source === undefined ? [] : [source])])

const DNS_CLIENT =
  "const [s,n]=process.argv.slice(1);const r=new (require('dns').promises.Resolver)({timeout:2000,tries:4});r.setServers([s]);r.resolve4(n).then(a=>console.log('GOT '+a.sort().join(',')),e=>console.log('ERR '+e.code))"

/**
 * A-record lookup of `name` at `server`: `GOT <a,b>` or `ERR <code>` (ENOTFOUND for NXDOMAIN). Every
 * lookup here expects an answer, so a lost query is asked again (4 tries of 2 s).
 */
export const resolveA = (netns: string | null, server: string, name: string) => capture(netns, DNS_CLIENT, [server, name])

/** Bounded retry of an async check (rules are applied by a background fiber). */
export const eventually = async (check: () => Promise<boolean>, attempts = 50) => {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error("condition not reached")
}
