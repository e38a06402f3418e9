/**
 * bench:dns worker — Denia's DNS server alone in its own process, answering
 * one `.internal` name. Args: <port> <name> <ip>. Prints "ready" when both
 * listeners are bound; exits on SIGTERM. The per-source rate limit is lifted
 * (the load generator is a single source).
 */
import { Effect } from "effect"
import { startDnsServer } from "../../src/network/dns/DnsServer.js"

const port = Number(process.argv[2])
const name = (process.argv[3] ?? "").toLowerCase()
const ip = process.argv[4] ?? ""
const table: ReadonlyMap<string, ReadonlyArray<string>> = new Map([[name, [ip]]])

const program = Effect.scoped(
  Effect.gen(function*() {
    yield* startDnsServer({
      address: "127.0.0.1",
      port,
      zone: ".internal",
      resolve: (fqdn) => Effect.succeed(table.get(fqdn) ?? null),
      // as the node network does: the name table's identity is the version (answers cached until it changes)
      zoneVersion: () => table,
      upstreams: [],
      limits: { rateLimit: { perSecond: 1e9, burst: 1e9 } }
    })
    process.stdout.write("ready\n")
    yield* Effect.never
  })
)

process.on("SIGTERM", () => process.exit(0))
Effect.runPromise(program).catch((e: unknown) => {
  process.stderr.write(`dns worker: ${String(e)}\n`)
  process.exit(1)
})
