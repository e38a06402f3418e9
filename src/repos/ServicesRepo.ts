import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import { type CreateService, type Service, ServiceSpecDocument } from "../domain/service.js"
import { all, CountRow, first, json, nowIso, orDbError, single, uniqueAsConflict } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  project_id: Schema.String,
  name: Schema.String,
  /** Decoded with the same schema the API validates with; fields added later get their defaults (health: its kind's). */
  spec: Schema.parseJson(ServiceSpecDocument),
  promoted_deployment_id: Schema.NullOr(Schema.String),
  previous_deployment_id: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String
})
type Row = typeof Row.Type

const SpecUpdatedAt = Schema.Struct({ at: Schema.String })

/** The editable part of a service, stored as one JSON document. */
export type ServiceSpec = Omit<
  Service,
  "id" | "projectId" | "name" | "promotedDeploymentId" | "previousDeploymentId" | "createdAt" | "updatedAt" | "status"
>

const toService = (r: Row): Service => {
  const spec = r.spec
  return {
    id: r.id,
    projectId: r.project_id,
    name: r.name,
    source: spec.source,
    port: spec.port,
    env: spec.env,
    limits: spec.limits,
    health: spec.health,
    tlsEnabled: spec.tlsEnabled,
    autoscale: spec.autoscale,
    endpoints: spec.endpoints,
    volumes: spec.volumes,
    capabilities: spec.capabilities,
    shmMb: spec.shmMb,
    promotedDeploymentId: r.promoted_deployment_id,
    previousDeploymentId: r.previous_deployment_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at
  }
}

const specOf = (s: ServiceSpec): ServiceSpec => ({
  source: s.source,
  port: s.port,
  env: s.env,
  limits: s.limits,
  health: s.health,
  tlsEnabled: s.tlsEnabled,
  autoscale: s.autoscale,
  endpoints: s.endpoints,
  volumes: s.volumes,
  capabilities: s.capabilities,
  shmMb: s.shmMb
})

export class ServicesRepo extends Effect.Service<ServicesRepo>()("denia/repos/ServicesRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const one = first("services", Row)

    const find = (id: string) => sql`SELECT * FROM services WHERE id = ${id}`.pipe(one, Effect.map(Option.map(toService)))

    const get = (id: string) =>
      find(id).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NotFound({ entity: "service", id })), onSome: Effect.succeed }))
      )

    const findByName = (projectId: string, name: string) =>
      sql`SELECT * FROM services WHERE project_id = ${projectId} AND name = ${name}`.pipe(one, Effect.map(Option.map(toService)))

    const list = (filter: { readonly projectIds?: ReadonlyArray<string> | undefined }) =>
      (filter.projectIds === undefined
        ? sql`SELECT * FROM services ORDER BY project_id, name`
        : filter.projectIds.length === 0
        ? Effect.succeed<ReadonlyArray<unknown>>([])
        : sql`SELECT * FROM services WHERE ${sql.in("project_id", filter.projectIds)} ORDER BY project_id, name`).pipe(
          all("services", Row),
          Effect.map((rows) => rows.map(toService))
        )

    const countInProject = (projectId: string) =>
      sql`SELECT COUNT(*) AS n FROM services WHERE project_id = ${projectId}`.pipe(
        single("services", CountRow),
        Effect.map((r) => r.n)
      )

    const create = (input: CreateService) =>
      Effect.gen(function*() {
        const id = uuidv7()
        const now = nowIso()
        yield* sql`INSERT INTO services (id, project_id, name, spec, created_at, updated_at)
                   VALUES (${id}, ${input.projectId}, ${input.name}, ${json(specOf(input))}, ${now}, ${now})`.pipe(
          uniqueAsConflict(`a service named ${JSON.stringify(input.name)} already exists in this project`)
        )
        return yield* get(id).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      })

    const updateSpec = (id: string, spec: ServiceSpec) =>
      Effect.gen(function*() {
        yield* get(id)
        const now = nowIso()
        yield* sql`UPDATE services SET spec = ${json(specOf(spec))}, updated_at = ${now}, spec_updated_at = ${now} WHERE id = ${id}`.pipe(
          orDbError
        )
        return yield* get(id)
      })

    /**
     * Promote a deployment. The one promoted before becomes the rollback
     * target only when it runs a different image: redeploying the same digest
     * keeps the previous distinct deployment as the target.
     */
    const promote = (id: string, deploymentId: string) =>
      sql`UPDATE services SET previous_deployment_id = CASE
                 WHEN promoted_deployment_id IS NULL OR promoted_deployment_id = ${deploymentId}
                   OR (SELECT image_digest FROM deployments WHERE id = services.promoted_deployment_id)
                      IS (SELECT image_digest FROM deployments WHERE id = ${deploymentId})
                 THEN previous_deployment_id ELSE promoted_deployment_id END,
               promoted_deployment_id = ${deploymentId}, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    /** When the spec was last edited (creation time for services never edited). */
    const specUpdatedAt = (id: string) =>
      sql`SELECT COALESCE(spec_updated_at, created_at) AS at FROM services WHERE id = ${id}`.pipe(
        first("services", SpecUpdatedAt),
        Effect.map(Option.map((r) => r.at))
      )

    /** The durable "should not run" signal. */
    const clearPromoted = (id: string) =>
      sql`UPDATE services SET promoted_deployment_id = NULL, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    const remove = (id: string) =>
      Effect.gen(function*() {
        yield* get(id)
        yield* sql`DELETE FROM services WHERE id = ${id}`.pipe(orDbError)
      })

    return { find, get, findByName, list, countInProject, create, updateSpec, promote, specUpdatedAt, clearPromoted, remove }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
