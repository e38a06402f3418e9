/**
 * A node network of its own for a test daemon: a bridge named `dnt<hex>` and
 * a random private /24 that overlaps no route on this machine, so suites run
 * in parallel without sharing a bridge or an nftables table. `cleanup`
 * removes the table, the replica namespaces and veths, and the bridge.
 */
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { randomBytes, randomInt } from "node:crypto"
import { teardownNetwork } from "../../src/network/NodeNetwork.js"

export interface TestNetwork {
  readonly bridge: string
  readonly subnet: string
  /** Config overrides for `startTestDaemon` / `testConfig`. */
  readonly overrides: Record<string, unknown>
  readonly cleanup: () => Promise<void>
}

const routedPrefixes = () =>
  execFileSync("ip", ["-4", "route", "show", "table", "all"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /(?:^|\s)(10\.\d+\.\d+)\.\d+/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined)

/** A `10.a.b.0/24` no route on this machine mentions (10.89/16 is the production default and never used). */
export const freeTestSubnet = (): string => {
  const used = new Set(routedPrefixes())
  for (let i = 0; i < 100; i++) {
    const a = randomInt(100, 250)
    const b = randomInt(0, 256)
    if (!used.has(`10.${a}.${b}`)) return `10.${a}.${b}.0/24`
  }
  throw new Error("no free test subnet")
}

export const makeTestNetwork = (egress = true): TestNetwork => {
  const bridge = `dnt${randomBytes(3).toString("hex")}`
  const subnet = freeTestSubnet()
  return {
    bridge,
    subnet,
    overrides: { network_mode: "bridge", network_bridge: bridge, network_subnet: subnet, network_egress: egress },
    cleanup: () => Effect.runPromise(Effect.ignore(teardownNetwork(bridge)))
  }
}
