/**
 * Public ports of services' raw TCP/UDP endpoints, persisted in
 * `endpoint_ports` (migration 0009): `plan` resolves a service's endpoints
 * against every allocation on the node (400 outside the range, 409 when taken),
 * `claim` makes a plan durable (replacing the service's previous ports in one
 * transaction); rows go with the service (`ON DELETE CASCADE`).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Either, Schema } from "effect"
import { DeniaConfig } from "../config/Config.js"
import type { Endpoint } from "../domain/service.js"
import { all, dbFailureAsError, nowIso, uniqueAsConflict } from "../repos/sqlHelpers.js"
import { type Allocation, parsePortRange, planEndpoints } from "./endpointPlan.js"

const Row = Schema.Struct({
  protocol: Schema.Literal("tcp", "udp"),
  public_port: Schema.Number,
  service_id: Schema.String,
  port: Schema.Number
})

const toAllocation = (r: typeof Row.Type): Allocation => ({
  protocol: r.protocol,
  publicPort: r.public_port,
  serviceId: r.service_id,
  port: r.port
})

export class EndpointPorts extends Effect.Service<EndpointPorts>()("denia/network/EndpointPorts", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const config = yield* DeniaConfig
    const ranges = { tcp: parsePortRange(config.values.tcpPortRange), udp: parsePortRange(config.values.udpPortRange) }

    const list = sql`SELECT protocol, public_port, service_id, port FROM endpoint_ports ORDER BY protocol, public_port`.pipe(
      all("endpoint_ports", Row),
      Effect.map((rows) => rows.map(toAllocation))
    )

    /** The endpoints with public ports (nothing is written). `serviceId` is undefined for a service not created yet. */
    const plan = (serviceId: string | undefined, endpoints: ReadonlyArray<Endpoint>) =>
      Effect.flatMap(list, (allocations) =>
        Either.match(
          planEndpoints({
            serviceId: serviceId ?? "",
            endpoints,
            allocations,
            ranges,
            rangeKeys: { tcp: "tcp_port_range", udp: "udp_port_range" }
          }),
          { onLeft: Effect.fail, onRight: Effect.succeed }
        ))

    /** Makes `endpoints` (a plan's result) the service's ports; a port taken meanwhile is a 409. */
    const claim = (serviceId: string, endpoints: ReadonlyArray<Required<Endpoint>>) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM endpoint_ports WHERE service_id = ${serviceId}`
        for (const e of endpoints) {
          yield* sql`INSERT INTO endpoint_ports (protocol, public_port, service_id, port, created_at)
                     VALUES (${e.protocol}, ${e.publicPort}, ${serviceId}, ${e.port}, ${nowIso()})`.pipe(
            uniqueAsConflict(`endpoints: ${e.protocol} port ${e.publicPort} was just allocated to another endpoint`)
          )
        }
      }).pipe(sql.withTransaction, dbFailureAsError)

    return { list, plan, claim }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
