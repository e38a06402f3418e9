import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { Authz } from "../../../auth/Authz.js"
import { DeniaConfig } from "../../../config/Config.js"
import { NotFound } from "../../../domain/errors.js"
import { RegistryGc } from "../../../registry/gc.js"
import { type GcRunRow, RegistryRepo } from "../../../repos/RegistryRepo.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { CurrentPrincipal } from "../../definition/security.js"
import { mapDomainErrors } from "../errorMapping.js"

const toRun = (r: GcRunRow) => ({
  id: r.id,
  trigger: r.trigger,
  status: r.finishedAt === null ? ("running" as const) : r.error === null ? ("done" as const) : ("failed" as const),
  startedAt: r.startedAt,
  ...(r.finishedAt !== null ? { finishedAt: r.finishedAt } : {}),
  blobsDeleted: r.blobsDeleted,
  bytesFreed: r.bytesFreed,
  uploadsExpired: r.uploadsExpired,
  ...(r.error !== null ? { error: r.error } : {})
})

export const RegistryHandlers = HttpApiBuilder.group(DeniaApi, "registry", (handlers) =>
  Effect.gen(function*() {
    const repo = yield* RegistryRepo
    const gc = yield* RegistryGc
    const authz = yield* Authz
    const config = yield* DeniaConfig
    return handlers
      .handle("status", () =>
        Effect.gen(function*() {
          const counts = yield* repo.counts
          const last = yield* repo.lastGcRun
          return {
            ...counts,
            gcIntervalHours: config.values.registryGcIntervalHours,
            gcGraceMinutes: config.values.registryGcGraceMinutes,
            lastGc: Option.match(last, { onNone: () => null, onSome: toRun })
          }
        }).pipe(mapDomainErrors))
      .handle("repositories", () =>
        Effect.gen(function*() {
          const principal = yield* CurrentPrincipal
          const visible = yield* authz.visibleProjectIds(principal)
          return { items: yield* repo.repositories(visible) }
        }).pipe(mapDomainErrors))
      .handle("gc", () => mapDomainErrors(Effect.map(gc.start("manual"), toRun)))
      .handle("gcRun", ({ path }) =>
        mapDomainErrors(
          Effect.flatMap(
            gc.findRun(path.id),
            Option.match({
              onNone: () => Effect.fail(new NotFound({ entity: "registry GC run", id: path.id })),
              onSome: (r) => Effect.succeed(toRun(r))
            })
          )
        ))
  }))
