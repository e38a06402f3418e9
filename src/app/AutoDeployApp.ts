/**
 * The auto-deploy subsystem's `DeployTrigger` port: a deployment no user
 * asked for. The pull of the built image from the service's own hosted
 * repository is authorized for the system (the repository is the
 * service's own, so no cross-project rule applies), the coordinator queues
 * the deployment at the ref the trigger saw, and the audit log records it
 * with the actor `system:autodeploy` and the trigger (`webhook` with the
 * sender's IP, or `poll`).
 */
import { Effect, Layer } from "effect"
import { DeployTrigger } from "../autodeploy/DeployTrigger.js"
import { TriggerFailed } from "../autodeploy/errors.js"
import { Coordinator } from "../deploy/Coordinator.js"
import { makeImageAuthorization } from "../deploy/imageAuthorization.js"
import type { Principal } from "../domain/principal.js"
import { AuditRepo } from "../repos/AuditRepo.js"
import { ProjectsRepo } from "../repos/ProjectsRepo.js"
import { ServicesRepo } from "../repos/ServicesRepo.js"

/** The audit actor of deployments started by a webhook or a poll. */
export const AUTODEPLOY_ACTOR = "system:autodeploy"

/** Who the pull grant of an auto-deploy is for: the node itself (never a token anyone holds). */
const SYSTEM: Principal = { kind: "adminToken", superAdmin: true }

export const autoDeployTriggerLayer = Layer.effect(
  DeployTrigger,
  Effect.gen(function*() {
    const services = yield* ServicesRepo
    const projects = yield* ProjectsRepo
    const coordinator = yield* Coordinator
    const audit = yield* AuditRepo
    const images = yield* makeImageAuthorization
    return {
      deploy: (request) =>
        Effect.gen(function*() {
          const service = yield* services.get(request.serviceId)
          const project = yield* projects.get(service.projectId)
          yield* images.authorizeDeploy(SYSTEM, service, project, undefined)
          const deployment = yield* coordinator.deploy(service.id, undefined, request.trigger, { gitRef: request.gitRef })
          yield* audit.record({
            actor: AUTODEPLOY_ACTOR,
            action: "deploy",
            target: `service:${service.id}`,
            outcome: "ok",
            clientIp: request.clientIp,
            details: {
              deployment: deployment.id,
              trigger: request.trigger,
              ref: request.gitRef,
              ...(request.commit === undefined ? {} : { commit: request.commit })
            }
          })
          return { deploymentId: deployment.id }
        }).pipe(
          Effect.catchAll((e) =>
            Effect.fail(
              new TriggerFailed({
                message: e._tag === "denia/db/DatabaseError" ? "internal error (see daemon log)" : e.message,
                cause: e
              })
            )
          )
        )
    }
  })
)
