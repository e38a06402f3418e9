import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Identity } from "../../../auth/Identity.js"
import { LOGIN_LIMIT, Throttle } from "../../../auth/Throttle.js"
import { AuditRepo } from "../../../repos/AuditRepo.js"
import { MembershipsRepo } from "../../../repos/MembershipsRepo.js"
import { UsersRepo } from "../../../repos/UsersRepo.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"
import { auditContext, requestIp } from "../requestContext.js"
import { CurrentPrincipal } from "../../definition/security.js"

export const AuthPublicHandlers = HttpApiBuilder.group(DeniaApi, "authPublic", (handlers) =>
  Effect.gen(function* () {
    const identity = yield* Identity
    const throttle = yield* Throttle
    return handlers.handle("login", ({ payload }) =>
      Effect.gen(function* () {
        const ip = yield* requestIp
        yield* throttle.hit("login", ip, LOGIN_LIMIT.limit, LOGIN_LIMIT.windowMs)
        return yield* identity.login(payload.username, payload.password, ip)
      }).pipe(mapDomainErrors)
    )
  })
)

export const AuthHandlers = HttpApiBuilder.group(DeniaApi, "auth", (handlers) =>
  Effect.gen(function* () {
    const identity = yield* Identity
    const throttle = yield* Throttle
    return handlers
      .handle("bootstrap", ({ payload }) => mapDomainErrors(Effect.flatMap(requestIp, (ip) => identity.bootstrap(payload.username, payload.password, ip))))
      .handle("logout", () =>
        mapDomainErrors(Effect.gen(function* () {
          return yield* identity.logout(yield* CurrentPrincipal, yield* requestIp)
        }))
      )
      .handle("me", () => Effect.flatMap(CurrentPrincipal, identity.me))
      .handle("changePassword", ({ payload }) =>
        mapDomainErrors(Effect.gen(function* () {
          const principal = yield* CurrentPrincipal
          const ip = yield* requestIp
          // Every attempt spends the per-IP login budget (shared with /v1/auth/login),
          // so a stolen session cannot be used to guess the password. The admin
          // token has no password to guess and is refused without spending it.
          if (principal.kind === "user") yield* throttle.hit("login", ip, LOGIN_LIMIT.limit, LOGIN_LIMIT.windowMs)
          yield* identity.changeOwnPassword(principal, payload, ip)
        }))
      )
  })
)

export const ApiTokensHandlers = HttpApiBuilder.group(DeniaApi, "apiTokens", (handlers) =>
  Effect.gen(function* () {
    const identity = yield* Identity
    return handlers
      .handle("list", () => Effect.flatMap(CurrentPrincipal, identity.listTokens).pipe(Effect.map((items) => ({ items }))))
      .handle("create", ({ payload }) =>
        mapDomainErrors(Effect.gen(function* () {
          return yield* identity.mintApiToken(yield* CurrentPrincipal, payload.name, yield* requestIp)
        }))
      )
      .handle("revoke", ({ path }) =>
        mapDomainErrors(Effect.gen(function* () {
          return yield* identity.revokeApiToken(yield* CurrentPrincipal, path.id, yield* requestIp)
        }))
      )
  })
)

export const UsersHandlers = HttpApiBuilder.group(DeniaApi, "users", (handlers) =>
  Effect.gen(function* () {
    const identity = yield* Identity
    const users = yield* UsersRepo
    return handlers
      .handle("list", () => Effect.map(users.list, (items) => ({ items })))
      .handle("create", ({ payload }) =>
        mapDomainErrors(Effect.gen(function* () {
          return yield* identity.createUser(yield* CurrentPrincipal, payload, yield* requestIp)
        }))
      )
      .handle("get", ({ path }) => mapDomainErrors(users.get(path.id)))
      .handle("update", ({ path, payload }) =>
        mapDomainErrors(Effect.gen(function* () {
          return yield* identity.updateUser(yield* CurrentPrincipal, path.id, payload, yield* requestIp)
        }))
      )
      .handle("delete", ({ path }) =>
        mapDomainErrors(Effect.gen(function* () {
          return yield* identity.deleteUser(yield* CurrentPrincipal, path.id, yield* requestIp)
        }))
      )
  })
)

export const MembersHandlers = HttpApiBuilder.group(DeniaApi, "members", (handlers) =>
  Effect.gen(function* () {
    const memberships = yield* MembershipsRepo
    const users = yield* UsersRepo
    const audit = yield* AuditRepo
    return handlers
      .handle("list", ({ path }) => Effect.map(memberships.forProject(path.id), (items) => ({ items })))
      .handle("set", ({ path, payload }) =>
        mapDomainErrors(Effect.gen(function* () {
          const user = yield* users.get(payload.userId)
          const membership = yield* memberships.set(path.id, user.id, payload.role)
          yield* audit.record({
            ...(yield* auditContext),
            action: "member.set",
            target: `project:${path.id}`,
            outcome: "ok",
            details: { user: user.username, role: payload.role }
          })
          return membership
        }))
      )
      .handle("remove", ({ path }) =>
        mapDomainErrors(Effect.gen(function* () {
          yield* memberships.remove(path.id, path.userId)
          yield* audit.record({
            ...(yield* auditContext),
            action: "member.remove",
            target: `project:${path.id}`,
            outcome: "ok",
            details: { userId: path.userId }
          })
        }))
      )
  })
)

export const AuditHandlers = HttpApiBuilder.group(DeniaApi, "audit", (handlers) =>
  Effect.gen(function* () {
    const audit = yield* AuditRepo
    return handlers.handle("list", ({ urlParams }) => audit.page(urlParams.limit ?? 50, urlParams.cursor))
  })
)
