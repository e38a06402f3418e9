/**
 * `denia uninstall` and tests: everything the node network put on the host
 * for a bridge — replica and pooled namespaces with their veths, the
 * nftables table, the bridge itself.
 */
import { Effect } from "effect"
import { nftApply } from "./command.js"
import * as host from "./hostNetwork.js"
import { tableFor } from "./networkTypes.js"
import { removalScript } from "./nftRuleset.js"

/** Removes what the node network put on the host for `bridge`: the nftables table, replica namespaces and veths, the bridge. */
export const teardownNetwork = (bridge: string) =>
  Effect.gen(function*() {
    const ns = yield* host.namespacesWithPrefix(`${bridge}-`)
    const veths = (yield* host.bridgePorts(bridge)).filter((n) => n.startsWith("dn"))
    yield* host.removeReplicaLinks([...ns.map((netns) => ({ netns })), ...veths.map((veth) => ({ veth }))])
    yield* nftApply("remove nftables table", removalScript(tableFor(bridge)))
    yield* host.removeBridge(bridge)
  })
