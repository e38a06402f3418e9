/**
 * Service secrets: env vars whose values live only in the SecretStore (one
 * SOPS file per value); SQLite keeps the name and the store reference.
 *
 * Launch environment precedence (lowest first; a later layer overrides an
 * earlier one key by key):
 *
 *   0. base env      — what the launcher passes in: the image's own `Env`
 *                      (OCI config) and any launch metadata it adds
 *   1. platform env  — what the node sets for every replica: `PORT` (the
 *                      service's listen port), `DENIA_PROJECT`, `DENIA_SERVICE`
 *   2. project shared env (`project.sharedEnv`)
 *   3. service env (`service.env`)
 *   4. service secrets (decrypted for this call only), except the one a Git
 *      source names as its `credentialRef` (checkout credential only) and the
 *      ones a source names in `buildSecrets` (build only, ADR 0806)
 */
import { Effect, Option } from "effect"
import type { DatabaseError } from "../db/errors.js"
import { NotFound } from "../domain/errors.js"
import { buildSecretsOf, type Service } from "../domain/service.js"
import type { ServiceSecretInfo } from "../domain/serviceSecret.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServiceSecretsRepo } from "../repos/ServiceSecretsRepo.js"
import type { ChangeContext } from "./registries.js"
import { SecretUnavailable, secretUnavailable } from "./registriesErrors.js"
import { SecretStore } from "./SecretStore.js"

/** The env every replica gets from the node, before project and service env (no `PORT` for a worker). */
export const platformEnv = (service: Pick<Service, "name" | "port">, projectName: string): Record<string, string> => ({
  ...(service.port === null ? {} : { PORT: String(service.port) }),
  DENIA_PROJECT: projectName,
  DENIA_SERVICE: service.name
})

/** Merges the four layers in precedence order (later wins). */
export const layerEnv = (
  ...layers: ReadonlyArray<Readonly<Record<string, string>>>
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      // defineProperty: a key such as `__proto__` is just a name here.
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    }
  }
  return out
}

export class ServiceSecrets extends Effect.Service<ServiceSecrets>()("denia/secrets/ServiceSecrets", {
  effect: Effect.gen(function*() {
    const repo = yield* ServiceSecretsRepo
    const projects = yield* ProjectsRepo
    const store = yield* SecretStore
    const audit = yield* AuditRepo

    const dropFile = (projectId: string, ref: string) =>
      store.delete(projectId, ref).pipe(
        Effect.asVoid,
        Effect.catchAll((e) =>
          Effect.logWarning("could not remove service secret file").pipe(Effect.annotateLogs({ projectId, ref, error: e._tag }))
        )
      )

    const list = (serviceId: string): Effect.Effect<ReadonlyArray<ServiceSecretInfo>, DatabaseError> =>
      Effect.map(repo.list(serviceId), (rows) => rows.map((r) => ({ name: r.name, updatedAt: r.updatedAt })))

    /** Creates or replaces `name`. The new value is written under a fresh ref before the row points at it. */
    const set = (ctx: ChangeContext, service: Pick<Service, "id" | "projectId">, name: string, value: string) =>
      Effect.gen(function*() {
        const ref = yield* store.put(service.projectId, value).pipe(Effect.orDie)
        const { secret, replacedRef } = yield* repo.upsert(service.id, name, ref).pipe(
          Effect.onError(() => dropFile(service.projectId, ref))
        )
        if (replacedRef !== null && replacedRef !== ref) yield* dropFile(service.projectId, replacedRef)
        yield* audit.record({
          actor: ctx.actor,
          action: "secret.set",
          target: `service:${service.id}`,
          outcome: "ok",
          clientIp: ctx.clientIp,
          details: { projectId: service.projectId, name, replaced: replacedRef !== null }
        })
        return { name: secret.name, updatedAt: secret.updatedAt } satisfies ServiceSecretInfo
      })

    const remove = (
      ctx: ChangeContext,
      service: Pick<Service, "id" | "projectId">,
      name: string
    ): Effect.Effect<void, NotFound | DatabaseError> =>
      Effect.gen(function*() {
        const removed = yield* repo.remove(service.id, name)
        if (Option.isNone(removed)) return yield* new NotFound({ entity: "secret", id: name })
        yield* dropFile(service.projectId, removed.value.secretRef)
        yield* audit.record({
          actor: ctx.actor,
          action: "secret.delete",
          target: `service:${service.id}`,
          outcome: "ok",
          clientIp: ctx.clientIp,
          details: { projectId: service.projectId, name }
        })
      })

    /**
     * Runs `removeService` (which deletes the service row; the secret rows go
     * with it by cascade) and then removes the encrypted files they pointed at.
     */
    const purgeAfter = <A, E, R>(service: Pick<Service, "id" | "projectId">, removeService: Effect.Effect<A, E, R>) =>
      Effect.gen(function*() {
        const rows = yield* repo.list(service.id)
        const result = yield* removeService
        yield* Effect.forEach(rows, (r) => dropFile(service.projectId, r.secretRef), { discard: true })
        return result
      })

    /** Decrypts the service's secrets into a name → value map (bounded concurrency). */
    const decryptAll = (service: Pick<Service, "id" | "projectId">) =>
      Effect.gen(function*() {
        const rows = yield* repo.list(service.id)
        const pairs = yield* Effect.forEach(
          rows,
          (r) =>
            store.get(service.projectId, r.secretRef).pipe(
              Effect.mapError(secretUnavailable(`service:${service.id}/${r.name}`)),
              Effect.flatMap((payload) =>
                typeof payload === "string"
                  ? Effect.succeed([r.name, payload] as const)
                  : Effect.fail(
                    new SecretUnavailable({ owner: `service:${service.id}/${r.name}`, reason: "stored document is not a single value" })
                  )
              )
            ),
          { concurrency: 4 }
        )
        return Object.fromEntries(pairs)
      })

    const resolveLaunchEnv = (
      service: Service,
      baseEnv: Readonly<Record<string, string>> = {}
    ): Effect.Effect<Record<string, string>, NotFound | SecretUnavailable | DatabaseError> =>
      Effect.gen(function*() {
        const project = yield* projects.get(service.projectId)
        const secrets = yield* decryptAll(service)
        // a Git source's credential (credentialRef) is for the checkout only, never the workload's env
        if (service.source.type === "git" && typeof service.source.credentialRef === "string") delete secrets[service.source.credentialRef]
        // build secrets are for `RUN --mount=type=secret` steps only, never the workload's env
        for (const b of buildSecretsOf(service.source)) delete secrets[b.secret]
        return layerEnv(baseEnv, platformEnv(service, project.name), project.sharedEnv, service.env, secrets)
      })

    return { list, set, remove, purgeAfter, resolveLaunchEnv }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}

/**
 * The environment a replica of `service` is launched with: `baseEnv` (the
 * image's `Env`, launch metadata) < platform env (`PORT`, `DENIA_PROJECT`,
 * `DENIA_SERVICE`) < project shared env < service env < secrets (see the
 * module comment).
 * Secret values are decrypted for this call only; the caller passes the map
 * to the launcher and drops it. Never log the result.
 */
export const resolveLaunchEnv = (
  service: Service,
  baseEnv: Readonly<Record<string, string>> = {}
): Effect.Effect<Record<string, string>, NotFound | SecretUnavailable | DatabaseError, ServiceSecrets> =>
  Effect.flatMap(ServiceSecrets, (s) => s.resolveLaunchEnv(service, baseEnv))
