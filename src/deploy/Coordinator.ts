/**
 * The deployment coordinator: owns the running replica sets of every service
 * (scoped under the daemon), runs deploy pipelines in background fibers
 * (serialized per service, latest request wins), and performs stop, start,
 * restart and rollback. Desired state is the promoted-deployment pointer in
 * SQLite; daemon shutdown stops replicas without touching it.
 *
 * The parts live in `coordinator/`: `state` (in-memory replica sets and
 * supervision), `toolkit` (shared steps, lock, fiber set), `pipeline`,
 * `supervision` (crash restarts), `actions`, `daemonLifecycle` (boot,
 * shutdown), `status`, and `notices` (what it announces to the rest).
 */
import { Context, Effect, Layer } from "effect"
import type { DatabaseError } from "../db/errors.js"
import type { Deployment, DeploymentTrigger } from "../domain/deployment.js"
import type { NotFound } from "../domain/errors.js"
import type { Service } from "../domain/service.js"
import { type DeployOptions, makeActions, type ServiceAction } from "./coordinator/actions.js"
import { bootEffect, shutdownEffect } from "./coordinator/daemonLifecycle.js"
import { makePipeline } from "./coordinator/pipeline.js"
import { makeStatusQueries } from "./coordinator/status.js"
import { makeSupervisor } from "./coordinator/supervision.js"
import { type CoordinatorOptions, makeToolkit } from "./coordinator/toolkit.js"
import type { ActionConflict } from "./errors.js"

export type { DeployOptions, ServiceAction } from "./coordinator/actions.js"
export type { CoordinatorOptions } from "./coordinator/toolkit.js"

export interface CoordinatorApi {
  /** Queues a deployment of the service's source (or `imageOverride`); answers at once, the pipeline runs in the background. */
  readonly deploy: (
    serviceId: string,
    imageOverride: string | undefined,
    trigger?: DeploymentTrigger,
    options?: DeployOptions
  ) => Effect.Effect<Deployment, NotFound | ActionConflict | DatabaseError>
  /** stop (in the background; undefined), or start/restart/rollback (the queued deployment). */
  readonly action: (
    serviceId: string,
    kind: ServiceAction
  ) => Effect.Effect<Deployment | undefined, NotFound | ActionConflict | DatabaseError>
  /** Stops the service now: pointer cleared, out of traffic, replicas stopped. */
  readonly stopService: (serviceId: string) => Effect.Effect<void, NotFound | DatabaseError>
  /** Daemon start (run by the layer): fail in-flight deployments, sweep, relaunch promoted ones. */
  readonly boot: Effect.Effect<void>
  /** The deployment whose replicas run now. */
  readonly isRunning: (serviceId: string) => Effect.Effect<string | undefined>
  /** The service with its live `status` filled in. */
  readonly withStatus: (service: Service) => Effect.Effect<Service, DatabaseError>
}

const make = (options: CoordinatorOptions) =>
  Effect.gen(function*() {
    const toolkit = yield* makeToolkit(options)
    const supervisor = makeSupervisor(toolkit)
    const { deploy, action, stopService } = makeActions(toolkit, makePipeline(toolkit, supervisor))
    const { isRunning, withStatus } = makeStatusQueries(toolkit)
    // Registered last, so it runs first: replicas are stopped while the fiber set and the replicas' scope still exist.
    yield* Effect.addFinalizer(() => shutdownEffect(toolkit))
    return { deploy, action, stopService, boot: bootEffect(toolkit, supervisor), isRunning, withStatus } satisfies CoordinatorApi
  })

export class Coordinator extends Context.Tag("denia/deploy/Coordinator")<Coordinator, CoordinatorApi>() {
  static readonly layer = (options: CoordinatorOptions) =>
    Layer.scoped(
      Coordinator,
      Effect.gen(function*() {
        const coordinator = yield* make(options)
        yield* coordinator.boot
        return coordinator
      })
    )
}
