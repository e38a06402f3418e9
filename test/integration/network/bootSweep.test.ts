/**
 * A process that attached replicas and was SIGKILLed leaves veths, namespaces,
 * leases and nftables chains, attached and pooled; the next boot of the network removes all of them
 * and builds a pool of its own, which closing the network removes again.
 */
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { AddressBook } from "../../../src/network/AddressBook.js"
import { NodeNetwork, tableFor, teardownNetwork } from "../../../src/network/NodeNetwork.js"
import { makeTestNetwork } from "../../support/network.js"
import { makeTempDir } from "../../support/tempDir.js"
import { eventually, networkLayer } from "./harness.js"

const repo = path.resolve(import.meta.dirname, "../../..")
const POOL = 2
const sh = (cmd: string, args: ReadonlyArray<string>) => execFileSync(cmd, [...args], { encoding: "utf8" })

describe("network boot sweep (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  afterAll(async () => {
    await tn.cleanup()
    temp.cleanup()
  })

  const overrides = { ...tn.overrides, network_pool_size: POOL }

  /** Runs the fixture (attach two replicas, fill the pool) in a child and returns it with its READY line. */
  const attachInChild = async () => {
    const child = spawn(
      path.join(repo, "node_modules", ".bin", "vite-node"),
      [path.join(import.meta.dirname, "fixtures", "attachAndWait.ts"), JSON.stringify({ dir: temp.dir, overrides })],
      { cwd: repo, stdio: ["ignore", "pipe", "inherit"] }
    )
    const line = await new Promise<string>((resolve, reject) => {
      let out = ""
      const timer = setTimeout(() => reject(new Error(`child did not get ready: ${out}`)), 60_000)
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString()
        const m = /(READY|FAILED) (.*)\n/.exec(out)
        if (m !== null) {
          clearTimeout(timer)
          resolve(out)
        }
      })
    })
    return { child, line }
  }

  it("removes what a SIGKILLed run left: veths, namespaces (attached and pooled), leases, per-veth rules", async () => {
    const { child, line } = await attachInChild()
    expect(line).toMatch(/^READY /m)
    const left = JSON.parse(line.replace(/^[\s\S]*READY /, "")) as ReadonlyArray<{ netnsPath: string; address: string }>
    const names = left.map((a) => a.netnsPath.split("/").pop() ?? "")
    // the attached namespaces and the pooled ones the killed run built
    const before = sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`${tn.bridge}-`))
    const veths = sh("ip", ["-o", "link", "show", "master", tn.bridge])
    child.kill("SIGKILL")
    await new Promise((r) => child.once("exit", r))
    // what the killed run left
    for (const n of names) expect(before).toContain(n)
    expect(before.length).toBe(names.length + POOL)
    for (const n of before) expect(veths).toContain(`dn${n.split("-").pop() ?? ""}`)
    expect(sh("nft", ["list", "table", "inet", tableFor(tn.bridge)])).toContain("hook ingress")

    const nn = await networkLayer(temp.dir, overrides)
    try {
      const status = await nn.run(Effect.map(NodeNetwork, (n) => n.status))
      expect(status.mode).toBe("bridge")
      // the new run builds its own pool; nothing of the old run remains next to it
      await eventually(async () => (await nn.run(Effect.flatMap(NodeNetwork, (n) => n.pooled))) === POOL)
      const ns = sh("ip", ["netns", "list"])
      for (const n of before) expect(ns).not.toContain(n)
      const leases = await nn.run(Effect.flatMap(AddressBook, (b) => b.list))
      expect(leases).toHaveLength(POOL)
      for (const l of leases) expect(l.replicaId).toMatch(/^pool\//)
      const ports = sh("ip", ["-o", "link", "show", "master", tn.bridge])
      for (const n of before) expect(ports).not.toContain(`dn${n.split("-").pop() ?? ""}`)
      expect(ports.trim().split("\n").map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]).sort()).toEqual(leases.map((l) => l.veth).sort())
      const table = sh("nft", ["list", "table", "inet", tableFor(tn.bridge)])
      expect(table.split("hook ingress").length - 1).toBe(POOL)
      // the addresses are free again (the new pool may reuse them); the old veths' chains are gone, old members too
      for (const n of before) expect(table).not.toContain(`dn${n.split("-").pop() ?? ""}`)
      for (const a of left) expect(table).not.toContain(`${a.address} : jump`)
    } finally {
      await nn.close()
    }
    // closing the network discards its pool: no namespace, veth, lease or per-veth chain is left
    expect(sh("ip", ["netns", "list"])).not.toContain(`${tn.bridge}-`)
    expect(sh("ip", ["-o", "link", "show", "master", tn.bridge]).trim()).toBe("")
    expect(sh("nft", ["list", "table", "inet", tableFor(tn.bridge)])).not.toContain("hook ingress")
  })

  it("lets uninstall's teardown remove what a SIGKILLed run left, ready namespaces included", async () => {
    const { child, line } = await attachInChild()
    expect(line).toMatch(/^READY /m)
    const left = sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`${tn.bridge}-`))
    expect(left.length).toBe(2 + POOL)
    child.kill("SIGKILL")
    await new Promise((r) => child.once("exit", r))
    await Effect.runPromise(teardownNetwork(tn.bridge))
    expect(sh("ip", ["netns", "list"])).not.toContain(`${tn.bridge}-`)
    for (const n of left) expect(sh("ip", ["-o", "link"])).not.toContain(`dn${n.split("-").pop() ?? ""}`)
    expect(sh("nft", ["list", "tables"])).not.toContain(tableFor(tn.bridge))
    expect(sh("ip", ["-o", "link"])).not.toContain(`${tn.bridge}:`)
  })
})
