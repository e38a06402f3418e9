import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * The node network (SPEC §12a, §14): `network_addresses` is the IPAM table —
 * one row per attached replica (its address, the names of its network
 * namespace and host-side veth), deleted when the replica stops and swept at
 * boot. `endpoint_ports` holds the public ports allocated to services' raw
 * TCP/UDP endpoints, unique per protocol, freed with the service.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE network_addresses (
    address TEXT PRIMARY KEY,
    replica_id TEXT NOT NULL UNIQUE,
    service_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    netns TEXT NOT NULL UNIQUE,
    veth TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  )`
  yield* sql`CREATE TABLE endpoint_ports (
    protocol TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    public_port INTEGER NOT NULL CHECK (public_port BETWEEN 1 AND 65535),
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    port INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (protocol, public_port),
    UNIQUE (service_id, protocol, port)
  )`
})
