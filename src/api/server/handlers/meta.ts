import { HttpApiBuilder, OpenApi } from "@effect/platform"
import { Effect } from "effect"
import { DeniaApi } from "../../definition/DeniaApi.js"

export const MetaHandlers = HttpApiBuilder.group(DeniaApi, "meta", (handlers) => {
  const spec = OpenApi.fromApi(DeniaApi) as unknown as Record<string, unknown>
  return handlers.handle("health", () => Effect.succeed({ status: "ok" as const })).handle("openapi", () => Effect.succeed(spec))
})
