import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { IdentityApp } from "../../../app/IdentityApp.js"
import { MembersApp } from "../../../app/MembersApp.js"
import { Identity } from "../../../auth/Identity.js"
import { AuditRepo } from "../../../repos/AuditRepo.js"
import { UsersRepo } from "../../../repos/UsersRepo.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { CurrentPrincipal } from "../../definition/security.js"
import { mapDomainErrors } from "../errorMapping.js"
import { currentCaller, requestIp } from "../requestContext.js"

export const AuthPublicHandlers = HttpApiBuilder.group(DeniaApi, "authPublic", (handlers) =>
  Effect.gen(function*() {
    const app = yield* IdentityApp
    return handlers.handle("login", ({ payload }) =>
      Effect.flatMap(requestIp, (ip) => app.login(payload.username, payload.password, ip)).pipe(mapDomainErrors))
  }))

export const AuthHandlers = HttpApiBuilder.group(DeniaApi, "auth", (handlers) =>
  Effect.gen(function*() {
    const identity = yield* Identity
    const app = yield* IdentityApp
    return handlers
      .handle("bootstrap", ({ payload }) =>
        mapDomainErrors(Effect.flatMap(requestIp, (ip) => identity.bootstrap(payload.username, payload.password, ip))))
      .handle("logout", () =>
        mapDomainErrors(Effect.gen(function*() {
          return yield* identity.logout(yield* CurrentPrincipal, yield* requestIp)
        })))
      .handle("me", () =>
        mapDomainErrors(Effect.flatMap(CurrentPrincipal, identity.me)))
      .handle("changePassword", ({ payload }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) =>
          app.changePassword(caller, payload))))
  }))

export const ApiTokensHandlers = HttpApiBuilder.group(DeniaApi, "apiTokens", (handlers) =>
  Effect.gen(function*() {
    const identity = yield* Identity
    return handlers
      .handle("list", () => Effect.flatMap(CurrentPrincipal, identity.listTokens).pipe(Effect.map((items) => ({ items })), mapDomainErrors))
      .handle("create", ({ payload }) =>
        mapDomainErrors(Effect.gen(function*() {
          return yield* identity.mintApiToken(yield* CurrentPrincipal, payload.name, yield* requestIp)
        })))
      .handle("revoke", ({ path }) =>
        mapDomainErrors(Effect.gen(function*() {
          return yield* identity.revokeApiToken(yield* CurrentPrincipal, path.id, yield* requestIp)
        })))
  }))

export const UsersHandlers = HttpApiBuilder.group(DeniaApi, "users", (handlers) =>
  Effect.gen(function*() {
    const identity = yield* Identity
    const users = yield* UsersRepo
    return handlers
      .handle("list", () => mapDomainErrors(Effect.map(users.list, (items) => ({ items }))))
      .handle("create", ({ payload }) =>
        mapDomainErrors(Effect.gen(function*() {
          return yield* identity.createUser(yield* CurrentPrincipal, payload, yield* requestIp)
        })))
      .handle("get", ({ path }) => mapDomainErrors(users.get(path.id)))
      .handle("update", ({ path, payload }) =>
        mapDomainErrors(Effect.gen(function*() {
          return yield* identity.updateUser(yield* CurrentPrincipal, path.id, payload, yield* requestIp)
        })))
      .handle("delete", ({ path }) =>
        mapDomainErrors(Effect.gen(function*() {
          return yield* identity.deleteUser(yield* CurrentPrincipal, path.id, yield* requestIp)
        })))
  }))

export const MembersHandlers = HttpApiBuilder.group(DeniaApi, "members", (handlers) =>
  Effect.gen(function*() {
    const app = yield* MembersApp
    return handlers
      .handle("list", ({ path }) => mapDomainErrors(Effect.map(app.list(path.id), (items) => ({ items }))))
      .handle("set", ({ path, payload }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) =>
          app.set(caller, path.id, payload.userId, payload.role))))
      .handle("remove", ({ path }) =>
        mapDomainErrors(Effect.flatMap(currentCaller, (caller) => app.remove(caller, path.id, path.userId))))
  }))

export const AuditHandlers = HttpApiBuilder.group(DeniaApi, "audit", (handlers) =>
  Effect.gen(function*() {
    const audit = yield* AuditRepo
    return handlers.handle("list", ({ urlParams }) => mapDomainErrors(audit.page(urlParams.limit ?? 50, urlParams.cursor)))
  }))
