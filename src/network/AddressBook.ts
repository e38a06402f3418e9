/**
 * IPAM: the replica addresses in use, persisted in `network_addresses`
 * (migration 0009) with the names of each replica's network namespace and
 * host-side veth, so a boot after a crash knows what to remove. A namespace
 * waiting in the pool (ADR 0705) is leased too, under a replica id
 * `pool/<hex>` and no service or project; `assign` hands it to a replica.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { all, nowIso, orDbError, uniqueAsConflict } from "../repos/sqlHelpers.js"

const Row = Schema.Struct({
  address: Schema.String,
  replica_id: Schema.String,
  service_id: Schema.String,
  project_id: Schema.String,
  netns: Schema.String,
  veth: Schema.String
})

export interface AddressLease {
  readonly address: string
  readonly replicaId: string
  readonly serviceId: string
  readonly projectId: string
  readonly netns: string
  readonly veth: string
}

export class AddressBook extends Effect.Service<AddressBook>()("denia/network/AddressBook", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const list = sql`SELECT * FROM network_addresses ORDER BY address`.pipe(
      all("network_addresses", Row),
      Effect.map((rows) =>
        rows.map((r): AddressLease => ({
          address: r.address,
          replicaId: r.replica_id,
          serviceId: r.service_id,
          projectId: r.project_id,
          netns: r.netns,
          veth: r.veth
        }))
      )
    )

    /** Records a lease; a taken address or name is a `Conflict` (the caller picks another). */
    const insert = (l: AddressLease) =>
      sql`INSERT INTO network_addresses (address, replica_id, service_id, project_id, netns, veth, created_at)
          VALUES (${l.address}, ${l.replicaId}, ${l.serviceId}, ${l.projectId}, ${l.netns}, ${l.veth}, ${nowIso()})`.pipe(
        uniqueAsConflict(`address ${l.address} is taken`)
      )

    /** Gives a pooled lease to a replica; a replica id already leased is a `Conflict`. */
    const assign = (address: string, to: { readonly replicaId: string; readonly serviceId: string; readonly projectId: string }) =>
      sql`UPDATE network_addresses SET replica_id = ${to.replicaId}, service_id = ${to.serviceId}, project_id = ${to.projectId}
          WHERE address = ${address}`.pipe(uniqueAsConflict(`replica ${to.replicaId} already has an address`), Effect.asVoid)

    const release = (address: string) => sql`DELETE FROM network_addresses WHERE address = ${address}`.pipe(orDbError, Effect.asVoid)

    const releaseAll = sql`DELETE FROM network_addresses`.pipe(orDbError, Effect.asVoid)

    return { list, insert, assign, release, releaseAll }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
