/**
 * Project registries: pull credentials a project keeps for private image
 * registries. Raw credentials go straight into the SecretStore (one SOPS file
 * per registry); SQLite keeps the endpoint, the kind, the username and the
 * store reference. Credentials leave this module only through
 * `resolveCredentials`, in the shape the OCI client takes, for the duration
 * of one pull.
 */
import { Effect, Option } from "effect"
import type { DatabaseError } from "../db/errors.js"
import { Invalid, type NotFound } from "../domain/errors.js"
import type { CreateRegistry, Registry, RegistryAuthInput, StoredRegistry, UpdateRegistry } from "../domain/registry.js"
import type { ServiceSource } from "../domain/service.js"
import type { RegistryCredentials } from "../oci/index.js"
import { parseReference } from "../oci/reference.js"
import { normalizeRegistryHost, sameRegistryHost } from "../oci/registryHost.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { RegistriesRepo, type RegistryRecord } from "../repos/RegistriesRepo.js"
import { SecretUnavailable, secretUnavailable } from "./registriesErrors.js"
import { SecretStore } from "./SecretStore.js"

/** Who made a change, for the audit log. */
export interface ChangeContext {
  readonly actor: string
  readonly clientIp: string
}

/** The registry as the API shows it: no store reference, no credentials. */
export const publicRegistry = (r: StoredRegistry): Registry => ({
  id: r.id,
  projectId: r.projectId,
  name: r.name,
  endpoint: r.endpoint,
  auth: r.auth,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt
})

/** The secret payload for an auth input; `undefined` for anonymous. */
const payloadOf = (auth: RegistryAuthInput): { readonly [k: string]: string } | undefined => {
  switch (auth.kind) {
    case "anonymous":
      return undefined
    case "basic":
      return { username: auth.username ?? "", password: auth.password ?? "" }
    case "token":
    case "ecr":
    case "gar":
      return { token: auth.token ?? "" }
  }
}

/**
 * Stored credentials → what the OCI client sends: `basic` as is, `token` as a
 * bearer token, ECR as Basic `AWS:<token>` and GAR as Basic
 * `oauth2accesstoken:<token>` (the fixed usernames those registries expect).
 */
export const toRegistryCredentials = (
  kind: Registry["auth"]["kind"],
  payload: { readonly [k: string]: string }
): RegistryCredentials | undefined => {
  const token = payload["token"]
  switch (kind) {
    case "anonymous":
      return { kind: "anonymous" }
    case "basic": {
      const username = payload["username"]
      const password = payload["password"]
      return username === undefined || password === undefined ? undefined : { kind: "basic", username, password }
    }
    case "token":
      return token === undefined ? undefined : { kind: "bearer", token }
    case "ecr":
      return token === undefined ? undefined : { kind: "basic", username: "AWS", password: token }
    case "gar":
      return token === undefined ? undefined : { kind: "basic", username: "oauth2accesstoken", password: token }
  }
}

export class Registries extends Effect.Service<Registries>()("denia/secrets/Registries", {
  effect: Effect.gen(function*() {
    const repo = yield* RegistriesRepo
    const store = yield* SecretStore
    const audit = yield* AuditRepo

    /** Encrypts the credentials of `auth` (none for anonymous); store failures are defects (opaque 500). */
    const storeCredentials = (projectId: string, auth: RegistryAuthInput) => {
      const payload = payloadOf(auth)
      return payload === undefined ? Effect.succeed(null) : store.put(projectId, payload).pipe(Effect.orDie)
    }

    /** Best-effort removal of a credentials file that no row points at any more. */
    const dropCredentials = (projectId: string, ref: string | null) =>
      ref === null
        ? Effect.void
        : store.delete(projectId, ref).pipe(
          Effect.asVoid,
          Effect.catchAll((e) =>
            Effect.logWarning("could not remove registry credentials file").pipe(Effect.annotateLogs({ projectId, ref, error: e._tag }))
          )
        )

    const recordOf = (name: string, endpoint: string, auth: RegistryAuthInput, secretRef: string | null): RegistryRecord => ({
      name,
      endpoint,
      authKind: auth.kind,
      authUsername: auth.kind === "basic" ? (auth.username ?? null) : null,
      secretRef
    })

    const list = (projectId: string) => Effect.map(repo.list(projectId), (items) => items.map(publicRegistry))

    const get = (projectId: string, id: string) => Effect.map(repo.get(projectId, id), publicRegistry)

    const create = (ctx: ChangeContext, projectId: string, input: CreateRegistry) =>
      Effect.gen(function*() {
        const ref = yield* storeCredentials(projectId, input.auth)
        const created = yield* repo
          .create(projectId, recordOf(input.name, input.endpoint, input.auth, ref))
          .pipe(Effect.tapError(() => dropCredentials(projectId, ref)))
        yield* audit.record({
          actor: ctx.actor,
          action: "registry.create",
          target: `registry:${created.id}`,
          outcome: "ok",
          clientIp: ctx.clientIp,
          details: { projectId, name: created.name, endpoint: created.endpoint, kind: created.auth.kind }
        })
        return publicRegistry(created)
      })

    const update = (ctx: ChangeContext, projectId: string, id: string, patch: UpdateRegistry) =>
      Effect.gen(function*() {
        const current = yield* repo.get(projectId, id)
        const name = patch.name ?? current.name
        const endpoint = patch.endpoint ?? current.endpoint
        const next: RegistryRecord = patch.auth === undefined
          ? { name, endpoint, authKind: current.auth.kind, authUsername: current.auth.username ?? null, secretRef: current.secretRef }
          : recordOf(name, endpoint, patch.auth, yield* storeCredentials(projectId, patch.auth))
        const { updated, previousRef } = yield* repo.update(projectId, id, next).pipe(
          Effect.tapError(() => (next.secretRef === current.secretRef ? Effect.void : dropCredentials(projectId, next.secretRef)))
        )
        if (previousRef !== next.secretRef) yield* dropCredentials(projectId, previousRef)
        yield* audit.record({
          actor: ctx.actor,
          action: "registry.update",
          target: `registry:${id}`,
          outcome: "ok",
          clientIp: ctx.clientIp,
          details: {
            projectId,
            name: updated.name,
            endpoint: updated.endpoint,
            kind: updated.auth.kind,
            credentialsReplaced: patch.auth !== undefined
          }
        })
        return publicRegistry(updated)
      })

    /** 409 while a service's `source.registryId` points here. */
    const remove = (ctx: ChangeContext, projectId: string, id: string) =>
      Effect.gen(function*() {
        const removed = yield* repo.remove(projectId, id)
        yield* dropCredentials(projectId, removed.secretRef)
        yield* audit.record({
          actor: ctx.actor,
          action: "registry.delete",
          target: `registry:${id}`,
          outcome: "ok",
          clientIp: ctx.clientIp,
          details: { projectId, name: removed.name }
        })
      })

    /** Decrypts a registry's credentials for one pull. */
    const resolveCredentials = (
      projectId: string,
      registryId: string
    ): Effect.Effect<RegistryCredentials, NotFound | SecretUnavailable | DatabaseError> =>
      Effect.gen(function*() {
        const registry = yield* repo.get(projectId, registryId)
        const owner = `registry:${registry.id}`
        if (registry.auth.kind === "anonymous" || registry.secretRef === null) return { kind: "anonymous" } as const
        const payload = yield* store.get(projectId, registry.secretRef).pipe(Effect.mapError(secretUnavailable(owner)))
        const credentials = typeof payload === "string" ? undefined : toRegistryCredentials(registry.auth.kind, payload)
        if (credentials === undefined) {
          return yield* new SecretUnavailable({ owner, reason: `stored document does not match kind ${registry.auth.kind}` })
        }
        return credentials
      })

    /** The registry host of an image reference (`docker.io` for Docker Hub), none when it does not parse. */
    const imageRegistryOf = (image: string): Option.Option<string> =>
      Effect.runSync(Effect.option(Effect.map(parseReference(image), (ref) => ref.registry)))

    /**
     * `registryId` must name a registry of the project whose endpoint is the
     * image's registry host; `field` names the offending input in the 400.
     */
    const checkRegistryFor = (
      projectId: string,
      registryId: string,
      image: string,
      field = "source.registryId"
    ): Effect.Effect<StoredRegistry, Invalid | DatabaseError> =>
      Effect.flatMap(repo.find(projectId, registryId), (found) => {
        if (Option.isNone(found)) return Effect.fail(new Invalid({ field, message: "is not a registry of this service's project" }))
        const host = imageRegistryOf(image)
        if (Option.isNone(host) || !sameRegistryHost(found.value.endpoint, host.value)) {
          return Effect.fail(
            new Invalid({
              field,
              message: `registry ${found.value.name} serves ${found.value.endpoint}, not ${
                Option.getOrElse(Option.map(host, normalizeRegistryHost), () => "this image's host")
              }; its credentials are only sent to its own endpoint`
            })
          )
        }
        return Effect.succeed(found.value)
      })

    /** A service's `source.registryId` must name a registry of the service's own project serving the image's host. */
    const checkServiceSource = (projectId: string, source: ServiceSource): Effect.Effect<void, Invalid | DatabaseError> =>
      source.type !== "image" || source.registryId === null
        ? Effect.void
        : Effect.asVoid(checkRegistryFor(projectId, source.registryId, source.image))

    /**
     * Credentials for pulling `image` with registry `registryId`: only when the
     * registry's endpoint is the image's host (else `Invalid` on `field`).
     */
    const credentialsForImage = (
      projectId: string,
      registryId: string,
      image: string,
      field = "source.registryId"
    ): Effect.Effect<RegistryCredentials, NotFound | SecretUnavailable | Invalid | DatabaseError> =>
      Effect.zipRight(checkRegistryFor(projectId, registryId, image, field), resolveCredentials(projectId, registryId))

    return { list, get, create, update, remove, resolveCredentials, checkServiceSource, checkRegistryFor, credentialsForImage }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}

/**
 * Credentials for pulling `image` with project registry `registryId`, only
 * when the registry's endpoint is the image's registry host (Docker Hub
 * aliases folded); otherwise `Invalid` naming `field`. What pulls use.
 */
export const resolveRegistryCredentialsFor = (
  projectId: string,
  registryId: string,
  image: string,
  field = "source.registryId"
): Effect.Effect<RegistryCredentials, NotFound | SecretUnavailable | Invalid | DatabaseError, Registries> =>
  Effect.flatMap(Registries, (r) => r.credentialsForImage(projectId, registryId, image, field))

/**
 * Decrypted credentials of project registry `registryId` without any host
 * check (for inspection; pulls use {@link resolveRegistryCredentialsFor}), in the OCI
 * client's shape: `{kind:"anonymous"}`, `{kind:"basic",username,password}`
 * (also ECR → `AWS:<token>`, GAR → `oauth2accesstoken:<token>`) or
 * `{kind:"bearer",token}`. Decrypted on every call; callers hold the result
 * only for the pull that needs it.
 */
export const resolveRegistryCredentials = (
  projectId: string,
  registryId: string
): Effect.Effect<RegistryCredentials, NotFound | SecretUnavailable | DatabaseError, Registries> =>
  Effect.flatMap(Registries, (r) => r.resolveCredentials(projectId, registryId))
