import { HttpApiBuilder, OpenApi } from "@effect/platform"
import { Effect } from "effect"
import { UsersRepo } from "../../../repos/UsersRepo.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"

export const MetaHandlers = HttpApiBuilder.group(DeniaApi, "meta", (handlers) =>
  Effect.gen(function*() {
    const users = yield* UsersRepo
    const spec = OpenApi.fromApi(DeniaApi) as unknown as Record<string, unknown>
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      // Bootstrap creates the first user and is refused once one exists: "a user exists" is exactly "setup done".
      .handle("setupStatus", () => mapDomainErrors(Effect.map(users.count, (n) => ({ setupComplete: n > 0 }))))
      .handle("openapi", () => Effect.succeed(spec))
  }))
