/**
 * Names everywhere: every client command accepts an id or a name. Services
 * are `<service>` (in `--project`, else the `default` project),
 * `<project>/<service>` or an id; projects, users, tokens and domains are a
 * name (hostname) or an id. Lookups go through the list endpoints the caller
 * can already read, so resolution never sees more than the caller may.
 */
import { Effect, Option } from "effect"
import { UUID_PATTERN } from "../../domain/ids.js"
import type { Project } from "../../domain/project.js"
import type { Service } from "../../domain/service.js"
import type { DeniaClient } from "./connection.js"
import { asCommandError, ClientCommandError } from "./errors.js"

export const DEFAULT_PROJECT = "default"

export const isId = (ref: string): boolean => UUID_PATTERN.test(ref)

/** How a service reference reads: `{ project?, service }` or an id. Pure. */
export const parseServiceRef = (
  ref: string
): { readonly id: string } | { readonly project: string | undefined; readonly service: string } | { readonly invalid: string } => {
  if (isId(ref)) return { id: ref }
  const parts = ref.split("/")
  if (parts.length === 1) return ref === "" ? { invalid: "service must not be empty" } : { project: undefined, service: ref }
  if (parts.length === 2 && parts[0] !== "" && parts[1] !== "") return { project: parts[0], service: parts[1] ?? "" }
  return { invalid: `service ${JSON.stringify(ref)} must be <service>, <project>/<service> or an id` }
}

const quote = (s: string) => JSON.stringify(s)

export const resolveProject = (client: DeniaClient, ref: string): Effect.Effect<Project, ClientCommandError> =>
  asCommandError(
    Effect.gen(function*() {
      if (isId(ref)) return yield* client.projects.get({ path: { id: ref } })
      const projects = yield* client.projects.list()
      const project = projects.items.find((p) => p.name === ref)
      if (project === undefined) {
        return yield* new ClientCommandError({ message: `no project named ${quote(ref)} (see: denia projects list)` })
      }
      return project
    })
  )

export interface ResolvedService {
  readonly service: Service
  readonly project: Project
}

/** `--project` (name or id) when given, else the service ref's own project, else `default`. */
export const resolveService = (
  client: DeniaClient,
  ref: string,
  projectFlag: Option.Option<string> = Option.none()
): Effect.Effect<ResolvedService, ClientCommandError> =>
  asCommandError(
    Effect.gen(function*() {
      const parsed = parseServiceRef(ref)
      if ("invalid" in parsed) return yield* new ClientCommandError({ message: parsed.invalid })
      if ("id" in parsed) {
        const service = yield* client.services.get({ path: { id: parsed.id } })
        const project = yield* resolveProject(client, service.projectId)
        return { service, project }
      }
      if (parsed.project !== undefined && Option.isSome(projectFlag)) {
        const flagged = yield* resolveProject(client, projectFlag.value)
        if (flagged.name !== parsed.project && flagged.id !== parsed.project) {
          return yield* new ClientCommandError({
            message: `service ${quote(ref)} names project ${quote(parsed.project)} but --project is ${quote(projectFlag.value)}`
          })
        }
      }
      const projectRef = parsed.project ?? Option.getOrElse(projectFlag, () => DEFAULT_PROJECT)
      const project = yield* resolveProject(client, projectRef)
      const services = yield* client.services.list({ urlParams: { projectId: project.id } })
      const service = services.items.find((s) => s.name === parsed.service)
      if (service === undefined) {
        return yield* new ClientCommandError({
          message: `no service named ${quote(parsed.service)} in ${project.name} (see: denia services list --project ${project.name})`
        })
      }
      return { service, project }
    })
  )

/** The service's id for commands that need nothing else. */
export const resolveServiceId = (client: DeniaClient, ref: string, projectFlag: Option.Option<string> = Option.none()) =>
  Effect.map(resolveService(client, ref, projectFlag), (r) => r.service.id)

/** `project/service`: how the CLI names a service back to the user. */
export const serviceLabel = (r: ResolvedService): string => `${r.project.name}/${r.service.name}`

/** The argument that names this service in a follow-up command (`web` in the default project). */
export const serviceArgFor = (r: ResolvedService): string => (r.project.name === DEFAULT_PROJECT ? r.service.name : serviceLabel(r))

export const resolveUserId = (client: DeniaClient, ref: string): Effect.Effect<string, ClientCommandError> =>
  isId(ref)
    ? Effect.succeed(ref)
    : asCommandError(
      Effect.gen(function*() {
        const users = yield* client.users.list().pipe(
          Effect.mapError(() =>
            new ClientCommandError({ message: `cannot look up user ${quote(ref)} (listing users needs super-admin): give the user id` })
          )
        )
        const user = users.items.find((u) => u.username === ref)
        if (user === undefined) return yield* new ClientCommandError({ message: `no user named ${quote(ref)} (see: denia users list)` })
        return user.id
      })
    )

export const resolveTokenId = (client: DeniaClient, ref: string): Effect.Effect<string, ClientCommandError> =>
  isId(ref)
    ? Effect.succeed(ref)
    : asCommandError(
      Effect.gen(function*() {
        const tokens = yield* client.apiTokens.list()
        const matches = tokens.items.filter((t) => t.name === ref)
        const [first, second] = matches
        if (first === undefined) {
          return yield* new ClientCommandError({ message: `no API token named ${quote(ref)} (see: denia tokens list)` })
        }
        if (second !== undefined) {
          return yield* new ClientCommandError({ message: `${matches.length} API tokens are named ${quote(ref)}: give the id` })
        }
        return first.id
      })
    )
