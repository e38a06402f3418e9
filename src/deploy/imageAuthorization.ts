/**
 * Who may make a service pull what, decided with the caller's principal
 * before anything is stored or queued:
 *
 * - a reference to Denia's own registry (any spelling of the bind address)
 *   may name a repository of the service's own project, or of another project
 *   only when the caller may read (viewer) that project; otherwise 403 naming
 *   the field;
 * - a `source.registryId` is only usable for images on that registry's own
 *   endpoint (400 naming `source.registryId`);
 * - a deploy records a pull grant for the caller, from which the pipeline
 *   mints its scoped pull token (registry/hostedPulls.ts).
 */
import { Effect, Option } from "effect"
import { Authz } from "../auth/Authz.js"
import { RoleRequired } from "../auth/errors.js"
import type { DatabaseError } from "../db/errors.js"
import type { Invalid } from "../domain/errors.js"
import type { Principal } from "../domain/principal.js"
import type { Project } from "../domain/project.js"
import type { Service, ServiceSource } from "../domain/service.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { Registries } from "../secrets/registries.js"
import { imageReferenceOf } from "./imageSource.js"

export const makeImageAuthorization = Effect.gen(function*() {
  const pulls = yield* HostedPulls
  const projects = yield* ProjectsRepo
  const authz = yield* Authz
  const registries = yield* Registries

  const denied = (field: string, repository: string) =>
    new RoleRequired({
      role: "viewer",
      message: `${field}: hosted repository ${repository} is not in this service's project and you may not read its project`
    })

  /** The hosted repository `reference` names (none for other registries), once `principal` may use it for a service of `projectId`. */
  const authorizeReference = (
    principal: Principal,
    projectId: string,
    reference: string,
    field: string
  ): Effect.Effect<Option.Option<string>, RoleRequired | DatabaseError> =>
    Effect.gen(function*() {
      const hosted = pulls.hostedReference(reference)
      if (Option.isNone(hosted)) return Option.none()
      const repository = hosted.value.repository
      const projectName = repository.split("/")[0] ?? ""
      const owner = yield* projects.findByName(projectName)
      // an unknown project is refused like a foreign one: no existence oracle
      if (Option.isNone(owner)) return yield* denied(field, repository)
      if (owner.value.id !== projectId) {
        yield* authz.requireProjectRole(principal, owner.value.id, "viewer").pipe(Effect.mapError(() => denied(field, repository)))
      }
      return Option.some(repository)
    })

  /** Service create/PATCH: the image source's reference and registry. */
  const checkSource = (
    principal: Principal,
    projectId: string,
    source: ServiceSource
  ): Effect.Effect<void, RoleRequired | Invalid | DatabaseError> =>
    source.type !== "image"
      ? Effect.void
      : Effect.zipRight(
        authorizeReference(principal, projectId, source.image, "source.image"),
        registries.checkServiceSource(projectId, source)
      )

  /**
   * Deploy: authorizes what this deployment will pull for the caller and
   * leaves the pull grant. `override` must already be a valid reference.
   */
  const authorizeDeploy = (
    principal: Principal,
    service: Service,
    project: Project,
    override: string | undefined
  ): Effect.Effect<void, RoleRequired | Invalid | DatabaseError> =>
    Effect.gen(function*() {
      const reference = yield* Effect.option(imageReferenceOf(service, project, override, { address: pulls.address }))
      // git/upload sources without an override: the coordinator answers that itself
      if (Option.isNone(reference)) return
      const field = override !== undefined ? "image" : "source.image"
      const repository = yield* authorizeReference(principal, project.id, reference.value, field)
      if (Option.isSome(repository)) return yield* pulls.grant(service.id, repository.value, principal)
      if (override !== undefined && service.source.type === "image" && service.source.registryId !== null) {
        yield* registries.checkRegistryFor(project.id, service.source.registryId, override, "source.registryId")
      }
    })

  return { checkSource, authorizeDeploy }
})
