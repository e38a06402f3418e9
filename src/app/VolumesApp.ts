/**
 * Volumes of a service: the list with sizes, removal, backup and restore.
 * A restore needs the service stopped (its promoted pointer cleared, so no
 * crash restart or boot brings a replica up on half-written data); the
 * volumes subsystem itself refuses anything a replica still mounts.
 */
import { Context, Effect, Layer } from "effect"
import type { Readable } from "node:stream"
import { Conflict, NotFound } from "../domain/errors.js"
import type { Service } from "../domain/service.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { Volumes } from "../volumes/Volumes.js"

const refOf = (s: Service) => ({ projectId: s.projectId, serviceName: s.name })

const make = Effect.gen(function*() {
  const services = yield* ServicesRepo
  const volumes = yield* Volumes

  const list = (serviceId: string) => Effect.flatMap(services.get(serviceId), (s) => volumes.list(refOf(s), s.volumes))

  /** A volume the service declares or still has on disk. */
  const known = (s: Service, name: string) =>
    Effect.flatMap(
      volumes.list(refOf(s), s.volumes),
      (items) => items.some((v) => v.name === name) ? Effect.void : Effect.fail(new NotFound({ entity: "volume", id: name }))
    )

  const remove = (serviceId: string, name: string) =>
    Effect.gen(function*() {
      const s = yield* services.get(serviceId)
      yield* known(s, name)
      yield* volumes.remove(refOf(s), name)
    })

  const backup = (serviceId: string, name: string, compress: "none" | "zstd") =>
    Effect.gen(function*() {
      const s = yield* services.get(serviceId)
      yield* known(s, name)
      return yield* volumes.openArchive(refOf(s), name, compress)
    })

  const restore = (serviceId: string, name: string, body: Readable) =>
    Effect.gen(function*() {
      const s = yield* services.get(serviceId)
      if (!s.volumes.some((v) => v.name === name)) yield* known(s, name)
      if (s.promotedDeploymentId !== null) {
        return yield* new Conflict({
          message: `volume ${name}: the service is running (or set to run); stop it before restoring a volume`
        })
      }
      return yield* volumes.restore(refOf(s), name, body)
    })

  return { list, remove, backup, restore }
})

export type VolumesAppApi = Effect.Effect.Success<typeof make>

export class VolumesApp extends Context.Tag("denia/app/VolumesApp")<VolumesApp, VolumesAppApi>() {
  static readonly layer = Layer.effect(VolumesApp, make)
}
