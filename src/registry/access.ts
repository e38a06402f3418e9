/**
 * Who is calling /v2 and what they may do: bearer tokens as on /v1, or HTTP
 * Basic whose password is a token (API token, session or the admin token;
 * the username is ignored), or a deployer pull token (see hostedPulls.ts),
 * which may only pull the repositories in its scope. Repositories are
 * `<project>/<service>`; pull needs Viewer, push and delete need Operator.
 */
import { Effect, Option } from "effect"
import { Authz } from "../auth/Authz.js"
import { PrincipalResolver } from "../auth/PrincipalResolver.js"
import type { DatabaseError } from "../db/errors.js"
import { isResourceName } from "../domain/names.js"
import type { Principal } from "../domain/principal.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { type DistributionError, ociError } from "./errors.js"
import { HostedPulls, type PullScope } from "./hostedPulls.js"

export const REALM = "Denia Registry"

/** The token carried by an Authorization header (Bearer, or Basic's password). */
export const tokenFromAuthorization = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const match = /^(\w+)\s+(.+)$/.exec(header.trim())
  if (match === null) return undefined
  const scheme = (match[1] ?? "").toLowerCase()
  const value = (match[2] ?? "").trim()
  if (scheme === "bearer") return value
  if (scheme !== "basic") return undefined
  const decoded = Buffer.from(value, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  return colon < 0 ? undefined : decoded.slice(colon + 1)
}

export type RegistryAction = "pull" | "push"

export interface Repository {
  /** `<project>/<service>` */
  readonly name: string
  /** The repository's id: its service id. */
  readonly id: string
  readonly projectId: string
}

const scopeAllows = (scope: PullScope, name: string, action: RegistryAction): boolean =>
  action === "pull" ? scope.pullAny === true || scope.repositories.has(name) : scope.push?.has(name) === true

const describeScope = (scope: PullScope): string =>
  scope.push === undefined
    ? `pull ${[...scope.repositories].join(", ")}`
    : `push ${[...scope.push].join(", ")} and pull what its principal may read`

export const makeAccess = Effect.gen(function*() {
  const resolver = yield* PrincipalResolver
  const authz = yield* Authz
  const projects = yield* ProjectsRepo
  const services = yield* ServicesRepo
  const pulls = yield* HostedPulls
  /** Principals that came from a pull or build token, with what the token allows. */
  const scoped = new WeakMap<Principal, PullScope>()

  const authenticate = (authorization: string | undefined): Effect.Effect<Principal, DistributionError | DatabaseError> =>
    Effect.gen(function*() {
      const token = tokenFromAuthorization(authorization)
      if (token === undefined || token === "") return yield* ociError("UNAUTHORIZED", "authentication required")
      const pull = pulls.verify(token)
      if (Option.isSome(pull)) {
        // a fresh object per request, so the scope is attached to this request's principal only
        const principal: Principal = { ...pull.value.principal }
        scoped.set(principal, pull.value)
        return principal
      }
      const principal = yield* resolver.resolve(token)
      if (Option.isNone(principal)) return yield* ociError("UNAUTHORIZED", "invalid or expired credentials")
      return principal.value
    })

  const lookup = (name: string): Effect.Effect<Repository, DistributionError | DatabaseError> =>
    Effect.gen(function*() {
      const parts = name.split("/")
      const [projectName, serviceName] = parts
      if (
        parts.length !== 2 || projectName === undefined || serviceName === undefined || !isResourceName(projectName) ||
        !isResourceName(serviceName)
      ) {
        return yield* ociError("NAME_INVALID", `repository name ${JSON.stringify(name)} must be <project>/<service>`, { name })
      }
      const project = yield* projects.findByName(projectName)
      if (Option.isNone(project)) return yield* ociError("NAME_UNKNOWN", `project ${projectName} does not exist`, { name })
      const service = yield* services.findByName(project.value.id, serviceName)
      if (Option.isNone(service)) {
        return yield* ociError("NAME_UNKNOWN", `service ${serviceName} does not exist in project ${projectName}`, { name })
      }
      return { name, id: service.value.id, projectId: project.value.id }
    })

  /** Finds `<project>/<service>` and checks the principal's role for the action. */
  const repository = (
    principal: Principal,
    name: string,
    action: RegistryAction
  ): Effect.Effect<Repository, DistributionError | DatabaseError> =>
    Effect.gen(function*() {
      const scope = scoped.get(principal)
      if (scope !== undefined && !scopeAllows(scope, name, action)) {
        return yield* ociError("DENIED", `this token may only ${describeScope(scope)}`, { name, action })
      }
      const repo = yield* lookup(name)
      const role = action === "pull" ? "viewer" : "operator"
      yield* authz
        .requireProjectRole(principal, repo.projectId, role)
        .pipe(Effect.mapError(() => ociError("DENIED", `${action} on ${name} needs the ${role} role on its project`, { name, action })))
      return repo
    })

  /** Project ids whose repositories the principal may pull (undefined = all). */
  const pullableProjects = (principal: Principal): Effect.Effect<ReadonlyArray<string> | undefined, DatabaseError> =>
    scoped.has(principal) ? Effect.succeed([]) : authz.visibleProjectIds(principal)

  /** Repository lookup without a principal, for trusted in-process callers. */
  const repositoryUnchecked = lookup

  return { authenticate, repository, repositoryUnchecked, pullableProjects }
})
