/** Projects: visibility, env redaction, and deletion with the project's encrypted files. */
import { Context, Effect, Layer } from "effect"
import { Authz } from "../auth/Authz.js"
import type { Principal } from "../domain/principal.js"
import type { CreateProject, UpdateProject } from "../domain/project.js"
import { DomainEvent } from "../events/DomainEvent.js"
import { Events } from "../events/Events.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { SecretStore } from "../secrets/SecretStore.js"
import { redactProject } from "./redaction.js"

const make = Effect.gen(function*() {
  const projects = yield* ProjectsRepo
  const authz = yield* Authz
  const secretStore = yield* SecretStore
  const events = yield* Events

  /** The projects `principal` may see, env values redacted below operator. */
  const list = (principal: Principal) =>
    Effect.gen(function*() {
      const visible = yield* authz.visibleProjectIds(principal)
      const all = yield* projects.list
      const items = visible === undefined ? all : all.filter((p) => visible.includes(p.id))
      return yield* Effect.forEach(items, redactProject(authz, principal))
    })

  const get = (principal: Principal, id: string) => Effect.flatMap(projects.get(id), redactProject(authz, principal))

  const create = (input: CreateProject) => projects.create(input)

  const update = (id: string, patch: UpdateProject) =>
    projects.update(id, patch).pipe(Effect.tap((p) => events.publish(DomainEvent.ProjectChanged({ projectId: p.id }))))

  /** The rows go first (409 while services exist); then the project's encrypted files. */
  const remove = (id: string) =>
    projects.remove(id).pipe(
      Effect.tap(() => events.publish(DomainEvent.ProjectDeleted({ projectId: id }))),
      Effect.zipRight(secretStore.deleteProject(id))
    )

  return { list, get, create, update, remove }
})

export type ProjectsAppApi = Effect.Effect.Success<typeof make>

export class ProjectsApp extends Context.Tag("denia/app/ProjectsApp")<ProjectsApp, ProjectsAppApi>() {
  static readonly layer = Layer.effect(ProjectsApp, make)
}
