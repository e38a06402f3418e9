import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Invalid, NotFound } from "../../../domain/errors.js"
import { OciService } from "../../../oci/index.js"
import { PullJobs } from "../../../oci/PullJobs.js"
import { resolveRegistryCredentialsFor } from "../../../secrets/registries.js"
import { Registries } from "../../../secrets/registries.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"

export const OciHandlers = HttpApiBuilder.group(DeniaApi, "oci", (handlers) =>
  Effect.gen(function*() {
    const oci = yield* OciService
    const jobs = yield* PullJobs
    const registries = yield* Registries
    return handlers
      .handle("cacheStatus", () => mapDomainErrors(oci.cacheStatus))
      .handle("cacheGc", () => mapDomainErrors(oci.gc))
      .handle("pull", ({ payload }) =>
        mapDomainErrors(
          Effect.gen(function*() {
            const registryId = payload.registryId ?? null
            if (registryId !== null && payload.projectId === undefined) {
              return yield* new Invalid({ field: "projectId", message: "is required with registryId (registries belong to a project)" })
            }
            const credentials = registryId === null || payload.projectId === undefined
              ? ({ kind: "anonymous" } as const)
              : yield* resolveRegistryCredentialsFor(payload.projectId, registryId, payload.image, "registryId").pipe(
                Effect.provideService(Registries, registries),
                Effect.catchTag(
                  "denia/secrets/SecretUnavailable",
                  () => Effect.fail(new Invalid({ field: "registryId", message: "the registry's credentials cannot be decrypted" }))
                )
              )
            return yield* jobs.start(payload.image, credentials)
          })
        ))
      .handle("pullStatus", ({ path }) =>
        mapDomainErrors(
          Effect.flatMap(
            jobs.get(path.id),
            (job) => (job === undefined ? Effect.fail(new NotFound({ entity: "pull", id: path.id })) : Effect.succeed(job))
          )
        ))
  }))
