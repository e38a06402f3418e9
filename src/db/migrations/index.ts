import type { SqlClient } from "@effect/sql"
import type { Effect } from "effect"
import core from "./0001_core.js"
import seedDefaultProject from "./0002_seed_default_project.js"
import identity from "./0003_identity.js"
import secretsRegistries from "./0004_secrets_registries.js"
import hostedRegistry from "./0005_hosted_registry.js"
import domains from "./0006_domains.js"
import domainClaims from "./0007_domain_claims.js"
import deploymentRestarts from "./0008_deployment_restarts.js"
import network from "./0009_network.js"

export interface MigrationStep {
  readonly id: number
  readonly name: string
  readonly run: Effect.Effect<unknown, unknown, SqlClient.SqlClient>
}

/** Ordered schema history. Append only: never edit a step that has shipped. */
export const migrations: ReadonlyArray<MigrationStep> = [
  { id: 1, name: "core", run: core },
  { id: 2, name: "seed_default_project", run: seedDefaultProject },
  { id: 3, name: "identity", run: identity },
  { id: 4, name: "secrets_registries", run: secretsRegistries },
  { id: 5, name: "hosted_registry", run: hostedRegistry },
  { id: 6, name: "domains", run: domains },
  { id: 7, name: "domain_claims", run: domainClaims },
  { id: 8, name: "deployment_restarts", run: deploymentRestarts },
  { id: 9, name: "network", run: network }
]
