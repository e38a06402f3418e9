import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { type Deployment, DeploymentStatus, DeploymentTrigger, TERMINAL_STATUSES } from "../domain/deployment.js"
import { NotFound } from "../domain/errors.js"
import { uuidv7 } from "../domain/ids.js"
import { all, first, nowIso, orDbError } from "./sqlHelpers.js"

const Row = Schema.Struct({
  id: Schema.String,
  service_id: Schema.String,
  status: DeploymentStatus,
  image_ref: Schema.String,
  image_digest: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  finished_at: Schema.NullOr(Schema.String),
  trigger: Schema.NullOr(DeploymentTrigger),
  restart_count: Schema.Number,
  last_exit_reason: Schema.NullOr(Schema.String),
  commit_sha: Schema.NullOr(Schema.String),
  git_ref: Schema.NullOr(Schema.String)
})
type Row = typeof Row.Type

const toDeployment = (r: Row): Deployment => ({
  id: r.id,
  serviceId: r.service_id,
  status: r.status,
  imageRef: r.image_ref,
  createdAt: r.created_at,
  ...(r.image_digest === null ? {} : { imageDigest: r.image_digest }),
  ...(r.finished_at === null ? {} : { finishedAt: r.finished_at }),
  ...(r.error === null ? {} : { error: r.error }),
  ...(r.trigger === null ? {} : { trigger: r.trigger }),
  restartCount: r.restart_count,
  ...(r.last_exit_reason === null ? {} : { lastExitReason: r.last_exit_reason }),
  ...(r.commit_sha === null ? {} : { commitSha: r.commit_sha }),
  ...(r.git_ref === null ? {} : { gitRef: r.git_ref })
})

/** Git sources: the ref a deployment asks for and, for relaunches, the commit it runs. */
export interface DeploymentGit {
  readonly ref?: string | undefined
  readonly commitSha?: string | undefined
}

export class DeploymentsRepo extends Effect.Service<DeploymentsRepo>()("denia/repos/DeploymentsRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient

    const find = (id: string) =>
      sql`SELECT * FROM deployments WHERE id = ${id}`.pipe(
        first("deployments", Row),
        Effect.map(Option.map(toDeployment))
      )

    const get = (id: string) =>
      find(id).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NotFound({ entity: "deployment", id })), onSome: Effect.succeed }))
      )

    /** Newest first (UUIDv7 ids sort by creation time). */
    const listForService = (serviceId: string) =>
      sql`SELECT * FROM deployments WHERE service_id = ${serviceId} ORDER BY id DESC`.pipe(
        all("deployments", Row),
        Effect.map((rows) => rows.map(toDeployment))
      )

    const create = (
      serviceId: string,
      imageRef: string,
      imageDigest?: string,
      trigger: DeploymentTrigger = "api",
      git: DeploymentGit = {}
    ) =>
      Effect.gen(function*() {
        const id = uuidv7()
        yield* sql`INSERT INTO deployments (id, service_id, status, image_ref, image_digest, created_at, trigger, git_ref, commit_sha)
                   VALUES (${id}, ${serviceId}, 'pending', ${imageRef}, ${imageDigest ?? null}, ${nowIso()}, ${trigger},
                           ${git.ref ?? null}, ${git.commitSha ?? null})`.pipe(orDbError)
        return yield* get(id).pipe(Effect.catchTag("denia/domain/NotFound", Effect.die))
      })

    /** The first terminal status stamps `finished_at`; later ones keep it. */
    const setStatus = (id: string, status: DeploymentStatus, extra: { readonly error?: string; readonly imageDigest?: string } = {}) =>
      sql`UPDATE deployments SET status = ${status},
            error = COALESCE(${extra.error ?? null}, error),
            image_digest = COALESCE(${extra.imageDigest ?? null}, image_digest),
            finished_at = COALESCE(finished_at, ${TERMINAL_STATUSES.has(status) ? nowIso() : null})
          WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    /** Git sources: what the build produced — the hosted reference to pull and the commit it was built from. */
    const recordBuild = (id: string, imageRef: string, commitSha: string) =>
      sql`UPDATE deployments SET image_ref = ${imageRef}, commit_sha = ${commitSha} WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    /** The commit of the service's newest deployment that names one (auto-deploy's "unchanged" baseline). */
    const latestCommit = (serviceId: string) =>
      sql`SELECT * FROM deployments WHERE service_id = ${serviceId} AND commit_sha IS NOT NULL ORDER BY id DESC LIMIT 1`.pipe(
        first("deployments", Row),
        Effect.map(Option.flatMap((r) => Option.fromNullable(r.commit_sha)))
      )

    /** A replica of the deployment was relaunched; `reason` (when known) is why its workload ended. */
    const recordRestart = (id: string, reason: string | undefined) =>
      sql`UPDATE deployments SET restart_count = restart_count + 1,
            last_exit_reason = COALESCE(${reason ?? null}, last_exit_reason)
          WHERE id = ${id}`.pipe(orDbError, Effect.asVoid)

    /** The newest deployment of the service (any status). */
    const latestForService = (serviceId: string) =>
      sql`SELECT * FROM deployments WHERE service_id = ${serviceId} ORDER BY id DESC LIMIT 1`.pipe(
        first("deployments", Row),
        Effect.map(Option.map(toDeployment))
      )

    /**
     * The newest deployment older than `before` that was promoted once
     * (healthy, or stopped by an operator) and runs an image other than
     * `digest`: the rollback target when the stored pointer is not distinct.
     */
    const previousDistinct = (serviceId: string, before: string, digest: string) =>
      sql`SELECT * FROM deployments WHERE service_id = ${serviceId} AND id < ${before}
            AND status IN ('healthy', 'stopped') AND image_digest IS NOT NULL AND image_digest <> ${digest}
          ORDER BY id DESC LIMIT 1`.pipe(
        first("deployments", Row),
        Effect.map(Option.map(toDeployment))
      )

    /** Deployments left mid-flight by a crash. */
    const listInFlight = sql`SELECT * FROM deployments WHERE status IN ('pending', 'building', 'starting')`.pipe(
      all("deployments", Row),
      Effect.map((rows) => rows.map(toDeployment))
    )

    /** The newest deployment that ran successfully (healthy now, or stopped by an operator). */
    const latestRunnable = (serviceId: string) =>
      sql`SELECT * FROM deployments WHERE service_id = ${serviceId} AND status IN ('healthy', 'stopped') ORDER BY id DESC LIMIT 1`.pipe(
        first("deployments", Row),
        Effect.map(Option.map(toDeployment))
      )

    return {
      find,
      get,
      listForService,
      create,
      setStatus,
      recordBuild,
      latestCommit,
      recordRestart,
      latestForService,
      previousDistinct,
      listInFlight,
      latestRunnable
    }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
