/**
 * The node network on the real kernel (privileged): egress through NAT to a
 * test-created namespace, isolation between projects and from the host,
 * anti-spoofing, TCP/UDP endpoint DNAT from the host, teardown on detach and
 * the boot sweep. "Replicas" are namespaces the network attaches, running
 * Node one-liners; no traffic leaves this machine.
 */
import { Effect, Schema } from "effect"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CreateProject } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { DomainEvent } from "../../../src/events/DomainEvent.js"
import { Events } from "../../../src/events/Events.js"
import { AddressBook } from "../../../src/network/AddressBook.js"
import { EndpointPorts } from "../../../src/network/EndpointPorts.js"
import { type Attachment, NodeNetwork } from "../../../src/network/NodeNetwork.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { makeTestNetwork } from "../../support/network.js"
import { makeTempDir } from "../../support/tempDir.js"
import { eventually, killServers, networkLayer, REACH_MS, resolveA, serveTcp, serveUdpEcho, tcpConnect, udpPing } from "./harness.js"

const sh = (cmd: string, args: ReadonlyArray<string>) => execFileSync(cmd, [...args], { encoding: "utf8" })
const links = () => sh("ip", ["-o", "link"])
const namespaces = () => sh("ip", ["netns", "list"])

describe("node network (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  // the "outside world": a namespace of the test's own behind a veth pair with a private /30
  const outsideNs = `dnx${randomBytes(3).toString("hex")}`
  const outsideHost = `dnxh${randomBytes(3).toString("hex")}`
  const outsideNet = tn.subnet.replace(/^10\.(\d+)\.(\d+)\.0\/24$/, (_m, a: string, b: string) => `10.${a}.${(Number(b) + 1) % 256}`)
  let nn: Awaited<ReturnType<typeof networkLayer>>
  let gateway = ""
  let hostApi: net.Server
  let hostApiPort = 0
  const attached: Record<string, { value: Attachment | null; close: () => Promise<void> }> = {}
  const ids: Record<string, string> = {}

  const nsOf = (name: string) => attached[name]?.value?.netnsPath.split("/").pop() ?? ""
  const addr = (name: string) => attached[name]?.value?.address ?? ""

  beforeAll(async () => {
    sh("ip", ["netns", "add", outsideNs])
    sh("ip", ["link", "add", outsideHost, "type", "veth", "peer", "name", "eth0", "netns", outsideNs])
    sh("ip", ["addr", "add", `${outsideNet}.1/30`, "dev", outsideHost])
    sh("ip", ["link", "set", outsideHost, "up"])
    sh("ip", ["-n", outsideNs, "addr", "add", `${outsideNet}.2/30`, "dev", "eth0"])
    sh("ip", ["-n", outsideNs, "link", "set", "eth0", "up"])
    await serveTcp(outsideNs, "outside", 7100)

    nn = await networkLayer(temp.dir, tn.overrides)
    const status = await nn.run(Effect.map(NodeNetwork, (n) => n.status))
    expect(status.mode).toBe("bridge")
    gateway = status.mode === "bridge" ? status.bridgeAddress : ""
    // two projects: shop (web, db) and other (intruder)
    await nn.run(Effect.gen(function*() {
      const projects = yield* ProjectsRepo
      const services = yield* ServicesRepo
      for (const [project, names] of [["shop", ["web", "db"]], ["other", ["intruder"]]] as const) {
        const p = yield* projects.create(Schema.decodeUnknownSync(CreateProject)({ name: `${project}${randomBytes(2).toString("hex")}` }))
        ids[project] = p.id
        for (const name of names) {
          const s = yield* services.create(
            Schema.decodeUnknownSync(CreateService)({ projectId: p.id, name, source: { type: "image", image: "x/y:1" }, port: 8080 })
          )
          ids[name] = s.id
        }
      }
    }))
    for (const [name, project] of [["web", "shop"], ["db", "shop"], ["db2", "shop"], ["intruder", "other"]] as const) {
      const serviceId = ids[name === "db2" ? "db" : name] ?? ""
      attached[name] = await nn.runScoped(Effect.flatMap(NodeNetwork, (n) =>
        n.attach({
          replicaId: `${name}/d/r1`,
          serviceId,
          serviceName: name === "db2" ? "db" : name,
          projectId: ids[project] ?? "",
          projectName: project,
          hostname: name
        })))
    }
    await serveTcp(nsOf("db"), "db", 6000)
    await serveTcp(nsOf("db2"), "db2", 6000)
    await serveUdpEcho(nsOf("db"), 6001)
    // both db replicas echo: the UDP endpoint may pick either (their address order depends on the namespace pool)
    await serveUdpEcho(nsOf("db2"), 6001)
    hostApi = net.createServer((s) => s.end("host")).listen(0, "0.0.0.0")
    await new Promise((r) => hostApi.once("listening", r))
    const a = hostApi.address()
    hostApiPort = typeof a === "object" && a !== null ? a.port : 0
  })

  afterAll(async () => {
    killServers()
    hostApi?.close()
    for (const a of Object.values(attached)) await a.close().catch(() => undefined)
    await nn?.close()
    await tn.cleanup()
    execFileSync("ip", ["-force", "-batch", "-"], { input: `link del ${outsideHost}\nnetns del ${outsideNs}\n` })
    temp.cleanup()
  })

  it("gives each replica its own address, namespace and /etc files", () => {
    const web = attached.web?.value
    expect(web).not.toBeNull()
    expect(web?.netnsPath).toMatch(new RegExp(`^/run/netns/${tn.bridge}-[0-9a-f]{8}$`))
    expect(new Set(["web", "db", "db2", "intruder"].map(addr)).size).toBe(4)
    expect(web?.etcFiles.resolvConf).toBe(`nameserver ${gateway}\nsearch shop.internal\noptions ndots:1\n`)
    expect(web?.etcFiles.hosts).toContain(`${addr("web")}\tweb web.shop.internal`)
    expect(sh("ip", ["-n", nsOf("web"), "-4", "-o", "addr", "show", "dev", "eth0"])).toContain(`${addr("web")}/32`)
    expect(sh("ip", ["-n", nsOf("web"), "route"])).toContain(`default via ${gateway}`)
  })

  it("reaches a server outside the node through NAT (the server sees the host's address)", async () => {
    expect(await tcpConnect(nsOf("web"), `${outsideNet}.2`, 7100, REACH_MS)).toBe(`GOT outside ${outsideNet}.1`)
  })

  it("lets replicas of one project talk on any port, keeps other projects out", async () => {
    expect(await tcpConnect(nsOf("web"), addr("db"), 6000, REACH_MS)).toBe(`GOT db ${addr("web")}`)
    expect(await udpPing(nsOf("web"), addr("db"), 6001, undefined, REACH_MS)).toBe("GOT ping")
    expect(await tcpConnect(nsOf("intruder"), addr("db"), 6000)).toBe("TIMEOUT")
    expect(await udpPing(nsOf("intruder"), addr("db"), 6001)).toBe("TIMEOUT")
  })

  it("keeps replicas off the host's own addresses, except DNS on the bridge address", async () => {
    const hostAddr = sh("ip", ["-4", "-o", "addr", "show", "dev", "eth0"]).match(/inet (\d+\.\d+\.\d+\.\d+)/)?.[1] ?? gateway
    expect(await tcpConnect(null, "127.0.0.1", hostApiPort, REACH_MS)).toBe("GOT host")
    expect(await tcpConnect(nsOf("web"), gateway, hostApiPort)).toBe("TIMEOUT")
    expect(await tcpConnect(nsOf("web"), hostAddr, hostApiPort)).toBe("TIMEOUT")
    expect(await tcpConnect(nsOf("web"), `${outsideNet}.1`, hostApiPort)).toBe("TIMEOUT")
    // the embedded DNS server on the bridge address is reachable (UDP; Node's resolver)
    expect(await resolveA(nsOf("web"), gateway, "web.shop.internal")).toBe("ERR ENODATA")
    expect(await resolveA(nsOf("intruder"), gateway, "nothing.shop.internal")).toBe("ERR ENOTFOUND")
  })

  it("drops packets a replica sends from an address that is not its own", async () => {
    const spoofed = addr("web").replace(/\.\d+$/, ".250")
    sh("ip", ["-n", nsOf("web"), "addr", "add", `${spoofed}/32`, "dev", "eth0"])
    try {
      expect(await udpPing(nsOf("web"), addr("db"), 6001, spoofed)).toBe("TIMEOUT")
      expect(await udpPing(nsOf("web"), addr("db"), 6001, addr("web"), REACH_MS)).toBe("GOT ping")
    } finally {
      sh("ip", ["-n", nsOf("web"), "addr", "del", `${spoofed}/32`, "dev", "eth0"])
    }
  })

  it("forwards a TCP endpoint (balanced over healthy replicas) and a UDP endpoint from the host", async () => {
    const dbId = ids.db ?? ""
    const endpoints = await nn.run(Effect.gen(function*() {
      const ports = yield* EndpointPorts
      const planned = yield* ports.plan(dbId, [{ protocol: "tcp", port: 6000 }, { protocol: "udp", port: 6001 }])
      yield* ports.claim(dbId, planned)
      const events = yield* Events
      yield* events.publish(DomainEvent.ServiceUpdated({ projectId: ids.shop ?? "", serviceId: dbId }))
      yield* events.publish(DomainEvent.ReplicaStarted({ serviceId: dbId, replicaId: "db/d/r1" }))
      yield* events.publish(DomainEvent.ReplicaStarted({ serviceId: dbId, replicaId: "db2/d/r1" }))
      return planned
    }))
    const tcpPort = endpoints[0]?.publicPort ?? 0
    const udpPort = endpoints[1]?.publicPort ?? 0
    const seen = new Set<string>()
    await eventually(async () => {
      const r = await tcpConnect(null, "127.0.0.1", tcpPort)
      if (r.startsWith("GOT ")) seen.add(r.split(" ")[1] ?? "")
      return seen.size === 2
    })
    expect([...seen].sort()).toEqual(["db", "db2"])
    expect(await tcpConnect(null, gateway, tcpPort, REACH_MS)).toMatch(/^GOT db2? /)
    expect(await udpPing(null, "127.0.0.1", udpPort, undefined, REACH_MS)).toBe("GOT ping")
    // db2 leaves traffic: only db answers
    await nn.run(
      Effect.flatMap(Events, (e) => e.publish(DomainEvent.ReplicaStopped({ serviceId: dbId, replicaId: "db2/d/r1", reason: "drained" })))
    )
    await eventually(async () => {
      const rs = await Promise.all([1, 2, 3, 4].map(() => tcpConnect(null, "127.0.0.1", tcpPort)))
      return rs.every((r) => r.startsWith("GOT db "))
    })
  })

  it("answers <service>.<project>.internal from the healthy replicas over DNS on the bridge address", async () => {
    expect(await resolveA(nsOf("web"), gateway, "db.shop.internal")).toBe(`GOT ${addr("db")}`)
    expect(await nn.run(Effect.map(NodeNetwork, (n) => n.resolve("db.shop.internal")))).toEqual([addr("db")])
    expect(await resolveA(nsOf("web"), gateway, "nothing.shop.internal")).toBe("ERR ENOTFOUND")
    // db2 enters traffic again: both addresses
    await nn.run(Effect.flatMap(Events, (e) => e.publish(DomainEvent.ReplicaStarted({ serviceId: ids.db ?? "", replicaId: "db2/d/r1" }))))
    const both = [addr("db"), addr("db2")].sort().join(",")
    await eventually(async () => (await resolveA(nsOf("web"), gateway, "db.shop.internal")) === `GOT ${both}`)
  })

  it("removes a replica's veth, namespace and address when it detaches", async () => {
    const ns = nsOf("intruder")
    const address = addr("intruder")
    await attached.intruder?.close()
    delete attached.intruder
    expect(namespaces()).not.toContain(ns)
    expect(links()).not.toContain(`dn${ns.split("-").pop() ?? ""}`)
    const leases = await nn.run(Effect.flatMap(AddressBook, (b) => b.list))
    expect(leases.map((l) => l.address)).not.toContain(address)
  })
})
