/**
 * The one place access rules are enforced for `/v1`: authenticate the bearer
 * token, then check the rule the API definition declares for the route.
 */
import { HttpRouter, HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { Authz } from "../../auth/Authz.js"
import { clientIp, proxyTrust } from "../../auth/clientIp.js"
import { PrincipalResolver } from "../../auth/PrincipalResolver.js"
import { ADMIN_TOKEN_LIMIT, Throttle } from "../../auth/Throttle.js"
import { DeploymentsRepo } from "../../repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../../repos/ProjectsRepo.js"
import { ServicesRepo } from "../../repos/ServicesRepo.js"
import type { AccessRule } from "../definition/access.js"
import { Forbidden, Unauthorized } from "../definition/errors.js"
import { Authorization, type Principal } from "../definition/security.js"
import { accessRuleTable, routeKey } from "./accessRules.js"
import { mapAuthErrors } from "./errorMapping.js"

export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const resolver = yield* PrincipalResolver
    const authz = yield* Authz
    const projects = yield* ProjectsRepo
    const services = yield* ServicesRepo
    const deployments = yield* DeploymentsRepo
    const throttle = yield* Throttle
    const trust = yield* proxyTrust
    const table = accessRuleTable()

    const projectOf = (rule: Extract<AccessRule, { kind: "project" }>, id: string) => {
      switch (rule.scope) {
        case "projectPath":
          return projects.get(id).pipe(Effect.map((p) => p.id))
        case "servicePath":
          return services.get(id).pipe(Effect.map((s) => s.projectId))
        case "deploymentPath":
          return deployments.get(id).pipe(
            Effect.flatMap((d) => services.get(d.serviceId)),
            Effect.map((s) => s.projectId)
          )
        case "handler":
          return Effect.succeed(undefined)
      }
    }

    const check = (principal: Principal, rule: AccessRule | undefined, params: Readonly<Record<string, string | undefined>>) =>
      Effect.gen(function*() {
        if (rule === undefined) {
          // Fail closed: a route without a declared rule is never reachable.
          return yield* new Forbidden({ code: "NO_ACCESS_RULE", message: "this route declares no access rule" })
        }
        switch (rule.kind) {
          case "public":
          case "authenticated":
            return
          case "adminToken":
            if (principal.kind !== "adminToken") {
              return yield* new Forbidden({ code: "FORBIDDEN", message: "this action needs the bootstrap admin token" })
            }
            return
          case "superAdmin":
            if (!principal.superAdmin) {
              return yield* new Forbidden({ code: "FORBIDDEN", message: "this action needs a super-admin" })
            }
            return
          case "project": {
            const projectId = yield* projectOf(rule, params["id"] ?? "")
            if (projectId !== undefined) yield* authz.requireProjectRole(principal, projectId, rule.role)
            return
          }
        }
      })

    return Authorization.of({
      bearer: (token) =>
        Effect.gen(function*() {
          const principal = yield* resolver.resolve(Redacted.value(token)).pipe(
            Effect.flatMap(
              Option.match({
                onNone: () => Effect.fail(new Unauthorized({ code: "UNAUTHORIZED", message: "missing or invalid bearer token" })),
                onSome: Effect.succeed
              })
            )
          )
          if (principal.kind === "adminToken") {
            const ip = clientIp(yield* HttpServerRequest.HttpServerRequest, trust)
            yield* throttle.hit("admin-token", ip, ADMIN_TOKEN_LIMIT.limit, ADMIN_TOKEN_LIMIT.windowMs)
          }
          const route = yield* HttpRouter.RouteContext
          yield* check(principal, table.get(routeKey(route.route.method, route.route.path)), route.params)
          return principal
        }).pipe(
          mapAuthErrors,
          // The middleware's failure schema has no 500: a database failure while
          // resolving the token or the role dies here, and middleware.ts answers
          // that defect with the opaque 500 (error id in the body, cause in the log).
          Effect.catchTag("denia/db/DatabaseError", Effect.die)
        )
    })
  })
)
