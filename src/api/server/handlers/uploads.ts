import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { UploadsApp } from "../../../app/UploadsApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"

export const UploadsHandlers = HttpApiBuilder.group(DeniaApi, "uploads", (handlers) =>
  Effect.gen(function*() {
    const app = yield* UploadsApp
    return handlers.handle("list", ({ path }) => mapDomainErrors(Effect.map(app.list(path.id), (items) => ({ items }))))
  }))
