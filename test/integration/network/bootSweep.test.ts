/**
 * A process that attached replicas and was SIGKILLed leaves veths, namespaces,
 * leases and nftables chains; the next boot of the network removes all of them.
 */
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { AddressBook } from "../../../src/network/AddressBook.js"
import { NodeNetwork, tableFor } from "../../../src/network/NodeNetwork.js"
import { makeTestNetwork } from "../../support/network.js"
import { makeTempDir } from "../../support/tempDir.js"
import { networkLayer } from "./harness.js"

const repo = path.resolve(import.meta.dirname, "../../..")
const sh = (cmd: string, args: ReadonlyArray<string>) => execFileSync(cmd, [...args], { encoding: "utf8" })

describe("network boot sweep (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  afterAll(async () => {
    await tn.cleanup()
    temp.cleanup()
  })

  it("removes what a SIGKILLed run left: veths, namespaces, leases, per-veth rules", async () => {
    const child = spawn(
      path.join(repo, "node_modules", ".bin", "vite-node"),
      [path.join(import.meta.dirname, "fixtures", "attachAndWait.ts"), JSON.stringify({ dir: temp.dir, overrides: tn.overrides })],
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
    expect(line).toMatch(/^READY /m)
    const left = JSON.parse(line.replace(/^[\s\S]*READY /, "")) as ReadonlyArray<{ netnsPath: string; address: string }>
    const names = left.map((a) => a.netnsPath.split("/").pop() ?? "")
    child.kill("SIGKILL")
    await new Promise((r) => child.once("exit", r))
    // what the killed run left
    for (const n of names) expect(sh("ip", ["netns", "list"])).toContain(n)
    expect(sh("ip", ["-o", "link", "show", "master", tn.bridge])).toContain(`dn${names[0]?.split("-").pop() ?? ""}`)
    expect(sh("nft", ["list", "table", "inet", tableFor(tn.bridge)])).toContain("hook ingress")

    const nn = await networkLayer(temp.dir, tn.overrides)
    try {
      const status = await nn.run(Effect.map(NodeNetwork, (n) => n.status))
      expect(status.mode).toBe("bridge")
      const ns = sh("ip", ["netns", "list"])
      for (const n of names) expect(ns).not.toContain(n)
      expect(sh("ip", ["-o", "link", "show", "master", tn.bridge]).trim()).toBe("")
      expect(await nn.run(Effect.flatMap(AddressBook, (b) => b.list))).toEqual([])
      const table = sh("nft", ["list", "table", "inet", tableFor(tn.bridge)])
      expect(table).not.toContain("hook ingress")
      for (const a of left) expect(table).not.toContain(a.address)
    } finally {
      await nn.close()
    }
  })
})
