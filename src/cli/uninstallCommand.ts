/**
 * `denia uninstall` (root, daemon stopped): removes what Denia put on the host
 * outside its data dir — the node network's nftables table, replica network
 * namespaces and veths, and the bridge. Loaded lazily by root.ts.
 */
import { Effect, Schema } from "effect"
import { loadProcessConfig } from "../config/environment.js"
import { parseAddress } from "../config/fields.js"
import { tableFor, teardownNetwork } from "../network/NodeNetwork.js"
import { printText } from "./client/output.js"
import { answersLikeDenia } from "./doctor/checks.js"

export class UninstallFailed extends Schema.TaggedError<UninstallFailed>()("UninstallFailed", { message: Schema.String }) {}

export const runUninstall = Effect.gen(function*() {
  const config = yield* loadProcessConfig(false)
  if (process.getuid?.() !== 0) return yield* new UninstallFailed({ message: "uninstall must run as root" })
  const api = parseAddress(config.values.bindAddr)
  const host = api === undefined || api.host === "0.0.0.0" ? "127.0.0.1" : api.host === "::" ? "[::1]" : api.host
  if (yield* Effect.promise(() => answersLikeDenia(`http://${host}:${api?.port ?? 7180}`))) {
    return yield* new UninstallFailed({ message: "the daemon is running: stop it first" })
  }
  const bridge = config.values.networkBridge
  yield* teardownNetwork(bridge).pipe(
    Effect.mapError((e) => new UninstallFailed({ message: `removing the node network failed: ${e.message}` }))
  )
  yield* printText(`removed nftables table inet ${tableFor(bridge)}, replica namespaces and veths, bridge ${bridge}`)
})
