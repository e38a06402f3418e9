/**
 * The namespace pool and the incremental rule updates (privileged): a
 * replica takes a ready namespace that belonged to no project, the pool
 * refills, isolation and anti-spoofing hold on the incremental path
 * (including an address reused by another project), a failed incremental
 * update falls back to the full render, pool size 0 builds a namespace per
 * attach, and an address whose rules could not be removed stays leased until
 * a full render succeeds.
 */
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AddressBook } from "../../../src/network/AddressBook.js"
import { type Attachment, NodeNetwork, tableFor } from "../../../src/network/NodeNetwork.js"
import { makeTestNetwork } from "../../support/network.js"
import { makeTempDir } from "../../support/tempDir.js"
import { eventually, killServers, networkLayer, REACH_MS, serveTcp, serveUdpEcho, tcpConnect, udpPing } from "./harness.js"

const sh = (cmd: string, args: ReadonlyArray<string>) => execFileSync(cmd, [...args], { encoding: "utf8" })
const namespaces = (bridge: string) =>
  sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`${bridge}-`))

type Net = Awaited<ReturnType<typeof networkLayer>>
type Attached = { value: Attachment | null; close: () => Promise<void> }

const attach = (nn: Net, name: string, project: string) =>
  nn.runScoped(Effect.flatMap(NodeNetwork, (n) =>
    n.attach({
      replicaId: `${name}/d/r1`,
      serviceId: `svc-${name}`,
      serviceName: name,
      projectId: `prj-${project}`,
      projectName: project,
      hostname: name
    })))
const nsOf = (a: Attached | undefined) => a?.value?.netnsPath.split("/").pop() ?? ""
const addrOf = (a: Attached | undefined) => a?.value?.address ?? ""

describe("namespace pool and incremental rules (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  const table = tableFor(tn.bridge)
  let nn: Net
  const open: Array<Attached> = []
  const pooled = () => nn.run(Effect.flatMap(NodeNetwork, (n) => n.pooled))
  const projectMap = () => sh("nft", ["list", "map", "inet", table, "replica_project"])

  beforeAll(async () => {
    nn = await networkLayer(temp.dir, { ...tn.overrides, network_pool_size: 2 })
    await eventually(async () => (await pooled()) === 2)
  })

  afterAll(async () => {
    killServers()
    for (const a of open) await a.close().catch(() => undefined)
    await nn?.close()
    await tn.cleanup()
    temp.cleanup()
  })

  it("keeps ready namespaces that belong to no project, guarded against spoofing, leased in SQLite", async () => {
    const leases = await nn.run(Effect.flatMap(AddressBook, (b) => b.list))
    expect(leases).toHaveLength(2)
    for (const l of leases) {
      expect(l.replicaId).toMatch(/^pool\//)
      expect(l.projectId).toBe("")
      expect(projectMap()).not.toContain(l.address)
      expect(sh("nft", ["list", "chain", "inet", table, `spoof_${l.veth}`])).toContain(`ip saddr != ${l.address} drop`)
      expect(sh("ip", ["-n", l.netns, "-4", "-o", "addr", "show", "dev", "eth0"])).toContain(`${l.address}/32`)
      expect(sh("ip", ["-n", l.netns, "route"])).toContain("default via")
      expect(sh("ip", ["-n", l.netns, "-o", "link", "show", "lo"])).toContain("UP")
    }
  })

  it("hands a pooled namespace to a replica, adds it to its project before returning, and refills", async () => {
    const ready = namespaces(tn.bridge)
    const a1 = await attach(nn, "a1", "alpha")
    open.push(a1)
    expect(ready).toContain(nsOf(a1))
    expect(projectMap()).toContain(`${addrOf(a1)} : jump project_`)
    const lease = (await nn.run(Effect.flatMap(AddressBook, (b) => b.list))).find((l) => l.address === addrOf(a1))
    expect(lease).toMatchObject({ replicaId: "a1/d/r1", serviceId: "svc-a1", projectId: "prj-alpha", netns: nsOf(a1) })
    await eventually(async () => (await pooled()) === 2)
    expect(namespaces(tn.bridge)).toHaveLength(3)
  })

  it("keeps projects apart and drops spoofed packets on the incremental path", async () => {
    const [a1] = open
    const a2 = await attach(nn, "a2", "alpha")
    const b1 = await attach(nn, "b1", "beta")
    open.push(a2, b1)
    await serveTcp(nsOf(a1), "a1", 6000)
    await serveUdpEcho(nsOf(a1), 6001)
    expect(await tcpConnect(nsOf(a2), addrOf(a1), 6000, REACH_MS)).toBe(`GOT a1 ${addrOf(a2)}`)
    expect(await tcpConnect(nsOf(b1), addrOf(a1), 6000)).toBe("TIMEOUT")
    expect(await udpPing(nsOf(b1), addrOf(a1), 6001)).toBe("TIMEOUT")
    // b1 pretending to be a2 (a member of alpha) is dropped at its veth
    sh("ip", ["-n", nsOf(b1), "addr", "add", `${addrOf(a2)}/32`, "dev", "eth0"])
    try {
      expect(await udpPing(nsOf(b1), addrOf(a1), 6001, addrOf(a2))).toBe("TIMEOUT")
    } finally {
      sh("ip", ["-n", nsOf(b1), "addr", "del", `${addrOf(a2)}/32`, "dev", "eth0"])
    }
    expect(await udpPing(nsOf(a2), addrOf(a1), 6001, addrOf(a2), REACH_MS)).toBe("GOT ping")
  })

  it("takes a replica out of its project when it detaches (its address reused by another project gets no access)", async () => {
    const [a1, a2] = open.splice(0, 2)
    open.unshift(a1 as Attached)
    const gone = addrOf(a2)
    await a2?.close()
    expect(projectMap()).not.toContain(`${gone} :`)
    expect(sh("nft", ["list", "table", "inet", table])).not.toContain(`!= ${gone} drop`)
    // the freed address is the lowest free one: the next namespace built (for the pool or a replica) gets it
    let reuse: Attached | undefined
    for (let i = 0; i < 4 && reuse === undefined; i++) {
      const t = await attach(nn, `g${i}`, "gamma")
      open.push(t)
      if (addrOf(t) === gone) reuse = t
      await eventually(async () => (await pooled()) === 2)
    }
    expect(addrOf(reuse)).toBe(gone)
    expect(await tcpConnect(nsOf(reuse), addrOf(a1), 6000)).toBe("TIMEOUT")
  })

  it("re-renders the table when an incremental update fails", async () => {
    const b1 = open.find((a) => a.value?.etcFiles.hosts.includes("b1.beta.internal") === true)
    const address = addrOf(b1)
    expect(address).not.toBe("")
    // someone removed b1's map element behind the network's back: its leave command fails, the full render heals
    sh("nft", ["delete", "element", "inet", table, "replica_project", `{ ${address} }`])
    await b1?.close()
    open.splice(open.indexOf(b1 as Attached), 1)
    const map = projectMap()
    expect(map).not.toContain(`${address} :`)
    for (const a of open) expect(map).toContain(`${addrOf(a)} : jump project_`)
    expect(namespaces(tn.bridge)).not.toContain(nsOf(b1))
    const [a1] = open
    const a3 = await attach(nn, "a3", "alpha")
    open.push(a3)
    expect(await tcpConnect(nsOf(a3), addrOf(a1), 6000, REACH_MS)).toBe(`GOT a1 ${addrOf(a3)}`)
  })
})

describe("network_pool_size = 0 (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  afterAll(async () => {
    await tn.cleanup()
    temp.cleanup()
  })

  it("keeps no namespace ready and builds one per attach", async () => {
    const nn = await networkLayer(temp.dir, { ...tn.overrides, network_pool_size: 0 })
    try {
      expect(await nn.run(Effect.flatMap(NodeNetwork, (n) => n.pooled))).toBe(0)
      expect(namespaces(tn.bridge)).toEqual([])
      const a = await attach(nn, "solo", "alpha")
      expect(namespaces(tn.bridge)).toEqual([nsOf(a)])
      expect(sh("nft", ["list", "map", "inet", tableFor(tn.bridge), "replica_project"])).toContain(`${addrOf(a)} : jump project_`)
      await a.close()
      expect(namespaces(tn.bridge)).toEqual([])
      expect(await nn.run(Effect.flatMap(AddressBook, (b) => b.list))).toEqual([])
    } finally {
      await nn.close()
    }
  })
})

describe("rules that cannot be removed (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  const table = tableFor(tn.bridge)
  // `nft` on PATH is a wrapper that fails while the flag file exists (the long-lived `nft -i` started before keeps working)
  const bin = path.join(temp.dir, "bin")
  const flag = path.join(temp.dir, "nft-fails")
  const realNft = sh("sh", ["-c", "command -v nft"]).trim()
  const savedPath = process.env["PATH"]
  let nn: Net

  beforeAll(async () => {
    fs.mkdirSync(bin)
    fs.writeFileSync(
      path.join(bin, "nft"),
      `#!/bin/sh\nif [ -e ${flag} ]; then echo "Error: injected failure" >&2; exit 1; fi\nexec ${realNft} "$@"\n`,
      { mode: 0o755 }
    )
    process.env["PATH"] = `${bin}:${savedPath ?? ""}`
    nn = await networkLayer(temp.dir, { ...tn.overrides, network_pool_size: 0 })
  })

  afterAll(async () => {
    process.env["PATH"] = savedPath
    fs.rmSync(flag, { force: true })
    await nn?.close()
    await tn.cleanup()
    temp.cleanup()
  })

  it("keeps the address leased until a full render has removed it from the table", async () => {
    const a = await attach(nn, "q1", "alpha")
    const b = await attach(nn, "q2", "alpha")
    const leased = async () => (await nn.run(Effect.flatMap(AddressBook, (book) => book.list))).map((l) => l.address)
    // q1's element vanished behind the network's back and nft -f fails: neither the incremental nor the full update works
    sh("nft", ["delete", "element", "inet", table, "replica_project", `{ ${addrOf(a)} }`])
    fs.writeFileSync(flag, "")
    await a.close()
    expect(namespaces(tn.bridge)).not.toContain(nsOf(a))
    expect(await leased()).toContain(addrOf(a))
    // the next attach must not get q1's address while its member-set entry may still be in the table
    const c = await attach(nn, "q3", "beta")
    expect(addrOf(c)).not.toBe(addrOf(a))
    // nft works again; the next full render (here: q2's failing incremental detach) releases the address
    fs.rmSync(flag)
    sh("nft", ["delete", "element", "inet", table, "replica_project", `{ ${addrOf(b)} }`])
    await b.close()
    expect(await leased()).not.toContain(addrOf(a))
    expect(sh("nft", ["list", "table", "inet", table])).not.toContain(addrOf(a))
    await c.close()
  })
})
