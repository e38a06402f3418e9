/**
 * Build-context uploads (`POST /v1/services/{id}/uploads`): the caller needs Operator on the service's
 * project and the service must be an upload source; the body streams into the upload store, which checks
 * it entry by entry (builder/uploads). With `deploy`, the same request queues a deployment that builds the
 * upload (`denia push`), through the ordinary deploy path: the hosted repository is authorized for the
 * caller, which leaves the grant the build's push token is minted from. Audited as `upload`.
 */
import { Context, Effect, Layer } from "effect"
import type { Readable } from "node:stream"
import { Authz } from "../auth/Authz.js"
import { uploadBuildReference } from "../builder/uploads/reference.js"
import { type UploadInfo, Uploads } from "../builder/uploads/Uploads.js"
import type { Deployment } from "../domain/deployment.js"
import { Conflict } from "../domain/errors.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"
import { type Caller, changeContextOf } from "./Caller.js"
import { DeploymentsApp } from "./DeploymentsApp.js"

export interface UploadOutcome {
  readonly upload: UploadInfo
  readonly deployment: Deployment | undefined
}

const make = Effect.gen(function*() {
  const services = yield* ServicesRepo
  const projects = yield* ProjectsRepo
  const authz = yield* Authz
  const audit = yield* AuditRepo
  const uploads = yield* Uploads
  const deployments = yield* DeploymentsApp
  const pulls = yield* HostedPulls

  /** Checks access and the source type before a byte of the body is read. */
  const prepare = (caller: Caller, serviceId: string) =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      yield* authz.requireProjectRole(caller.principal, service.projectId, "operator")
      if (service.source.type !== "upload") {
        return yield* new Conflict({
          message: `source: service ${service.name} has source type ${service.source.type}; uploads need source type upload`
        })
      }
      return service
    })

  const upload = (
    caller: Caller,
    serviceId: string,
    body: Readable,
    declaredLength: number | undefined,
    deploy: boolean,
    plainTar = false
  ) =>
    Effect.gen(function*() {
      const service = yield* prepare(caller, serviceId)
      const info = yield* uploads.receive(service.id, body, declaredLength, plainTar)
      yield* audit.record({
        ...changeContextOf(caller),
        action: "upload",
        target: `service:${service.id}`,
        outcome: "ok",
        details: { upload: info.id, bytes: String(info.bytes), entries: String(info.entries) }
      })
      if (!deploy) return { upload: info, deployment: undefined } satisfies UploadOutcome
      return yield* deployUpload(caller, service.id, info.id).pipe(Effect.map((deployment) => ({ upload: info, deployment })))
    })

  /** Queues a deployment that builds `uploadId` (an upload of this service that has not expired). */
  const deployUpload = (caller: Caller, serviceId: string, uploadId: string) =>
    Effect.gen(function*() {
      const service = yield* prepare(caller, serviceId)
      yield* uploads.get(service.id, uploadId)
      const project = yield* projects.get(service.projectId)
      return yield* deployments.deploy(caller, service.id, uploadBuildReference(pulls.address, project.name, service.name, uploadId))
    })

  /** The service's stored uploads (not expired), newest first; the service must exist (404 otherwise). */
  const list = (serviceId: string) =>
    Effect.gen(function*() {
      const service = yield* services.get(serviceId)
      const stored = yield* uploads.list(service.id)
      return stored.map(({ bytes, createdAt, entries, expiresAt, format, id, unpackedBytes }) => ({
        id,
        bytes,
        format,
        entries,
        unpackedBytes,
        createdAt,
        expiresAt
      }))
    })

  return { upload, deployUpload, list }
})

export type UploadsAppApi = Effect.Effect.Success<typeof make>

export class UploadsApp extends Context.Tag("denia/app/UploadsApp")<UploadsApp, UploadsAppApi>() {
  static readonly layer = Layer.effect(UploadsApp, make)
}
