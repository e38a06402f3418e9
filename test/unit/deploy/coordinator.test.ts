/**
 * The deployment coordinator on the FakeRuntime (no root, no helper, no
 * registry): supersede, a failed health gate, the rollback target, crash
 * restarts on the same deployment with backoff, and stop.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, FiberId, Option, Schema } from "effect"
import * as fs from "node:fs"
import { Coordinator } from "../../../src/deploy/Coordinator.js"
import { DeploymentLog } from "../../../src/deploy/DeploymentLog.js"
import { runtimeDeploymentName } from "../../../src/deploy/runtimeNames.js"
import { type Deployment, TERMINAL_STATUSES } from "../../../src/domain/deployment.js"
import { CreateProject } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { Runtime } from "../../../src/runtime/index.js"
import { coordinatorTest, type CoordinatorTestOptions, fakeDigest, PublishedReplicas } from "../../support/layers.js"

const V1 = "registry.test/app:v1"
const V2 = "registry.test/app:v2"
const SICK = "registry.test/app:sick"
const SLOW = "registry.test/app:slow"

const images: CoordinatorTestOptions["images"] = { [V1]: {}, [V2]: {}, [SLOW]: {}, [SICK]: { env: ["HEALTH=fail"] } }

/** Replicas answer their health check with 200, except those of an image with HEALTH=fail (503). */
const runtime: CoordinatorTestOptions["runtime"] = {
  handler: (spec, _req, res) => {
    res.writeHead(spec.env.HEALTH === "fail" ? 503 : 200)
    res.end(`ok ${spec.deployment}`)
  }
}

/** A project `alpha` with service `web` from V1 (health GET /health within 1 s). */
const createService = Effect.gen(function*() {
  const project = yield* (yield* ProjectsRepo).create(Schema.decodeUnknownSync(CreateProject)({ name: "alpha" }))
  return yield* (yield* ServicesRepo).create(
    Schema.decodeUnknownSync(CreateService)({
      projectId: project.id,
      name: "web",
      source: { type: "image", image: V1 },
      port: 8080,
      health: { path: "/health", timeoutSeconds: 1 }
    })
  )
})

/** Polls `probe` until it yields a value (bounded: 1000 × 20 ms). */
const eventually = <A, E, R>(what: string, probe: Effect.Effect<Option.Option<A>, E, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      const found = yield* probe
      if (Option.isSome(found)) return found.value
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`timed out waiting for ${what}`)
  })

const settled = (deployment: Deployment) =>
  Effect.flatMap(DeploymentsRepo, (repo) =>
    eventually(
      `deployment ${deployment.id} to settle`,
      Effect.map(repo.get(deployment.id), (d) => (TERMINAL_STATUSES.has(d.status) ? Option.some(d) : Option.none()))
    ))

const deployAndSettle = (serviceId: string, image: string) =>
  Effect.flatMap(Coordinator, (c) => c.deploy(serviceId, image)).pipe(Effect.flatMap(settled))

/** The deployment an action queued (stop queues none). */
const queued = <E, R>(action: Effect.Effect<Deployment | undefined, E, R>) =>
  Effect.flatMap(action, (d) => (d === undefined ? Effect.dieMessage("the action queued no deployment") : settled(d)))

const logOf = (deploymentId: string) => Effect.map(DeploymentLog, (log) => fs.readFileSync(log.pathOf(deploymentId), "utf8"))

/** Runtime replicas running now, by runtime deployment name. */
const runningDeployments = Effect.flatMap(
  Runtime,
  (rt) => Effect.map(rt.list, (list) => list.filter((r) => r.state === "running").map((r) => r.deployment))
)

const publishedDeployments = (serviceId: string) =>
  Effect.flatMap(PublishedReplicas, (p) => Effect.map(p.current(serviceId), (set) => set.map((r) => r.id.split("/")[1])))

/**
 * Waits until only `deploymentId` runs: a deployment is marked healthy before
 * the set it replaces is drained and stopped.
 */
const onlyRunning = (deploymentId: string) =>
  eventually(
    `only ${deploymentId} running`,
    Effect.map(
      runningDeployments,
      (names) => (names.length === 1 && names[0] === runtimeDeploymentName(deploymentId) ? Option.some(names) : Option.none())
    )
  )

describe("Coordinator on the FakeRuntime", () => {
  it.scopedLive("a newer deployment supersedes a queued one; the newest is promoted", () => {
    const started = Deferred.unsafeMake<void>(FiberId.none)
    const release = Deferred.unsafeMake<void>(FiberId.none)
    const layer = coordinatorTest({
      images,
      runtime,
      // the pull of SLOW waits until the test has queued two more deployments
      beforePull: (
        reference
      ) => (reference === SLOW ? Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(release))) : Effect.void)
    })
    return Effect.gen(function*() {
      const coordinator = yield* Coordinator
      const service = yield* createService
      const first = yield* coordinator.deploy(service.id, SLOW)
      yield* Deferred.await(started)
      const queued = yield* coordinator.deploy(service.id, V1)
      const newest = yield* coordinator.deploy(service.id, V2)
      yield* Deferred.succeed(release, undefined)

      expect((yield* settled(first)).status).toBe("healthy")
      const superseded = yield* settled(queued)
      expect(superseded.status).toBe("failed")
      expect(superseded.error).toBe(`superseded by deployment ${newest.id}`)
      const winner = yield* settled(newest)
      expect(winner.status).toBe("healthy")
      expect(winner.imageDigest).toBe(fakeDigest(V2))
      expect((yield* (yield* ServicesRepo).get(service.id)).promotedDeploymentId).toBe(newest.id)
      yield* eventually(
        "the first deployment to be replaced",
        Effect.map(logOf(first.id), (log) => (log.includes(`INFO replaced by deployment ${newest.id}`) ? Option.some(log) : Option.none()))
      )
      yield* onlyRunning(newest.id)
      expect(yield* publishedDeployments(service.id)).toEqual([runtimeDeploymentName(newest.id)])
      expect(yield* coordinator.isRunning(service.id)).toBe(newest.id)
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("a deployment whose health check fails ends failed and the previous one keeps serving", () =>
    Effect.gen(function*() {
      const coordinator = yield* Coordinator
      const service = yield* createService
      const good = yield* deployAndSettle(service.id, V1)
      expect(good.status).toBe("healthy")

      const bad = yield* deployAndSettle(service.id, SICK)
      expect(bad.status).toBe("failed")
      expect(bad.error).toContain("health check GET /health did not pass within 1 s: status 503")
      expect(bad.error).toContain("see: denia logs alpha/web")
      const after = yield* (yield* ServicesRepo).get(service.id)
      expect(after.promotedDeploymentId).toBe(good.id)
      expect(yield* runningDeployments).toEqual([runtimeDeploymentName(good.id)])
      expect(yield* publishedDeployments(service.id)).toEqual([runtimeDeploymentName(good.id)])
      const status = (yield* coordinator.withStatus(after)).status
      expect(status?.state).toBe("running")
      expect(status?.liveDeploymentId).toBe(good.id)
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))

  it.scopedLive("rollback targets the previous deployment with another image, even after a restart of the live one", () =>
    Effect.gen(function*() {
      const coordinator = yield* Coordinator
      const service = yield* createService
      const v1 = yield* deployAndSettle(service.id, V1)
      const nothing = yield* coordinator.action(service.id, "rollback").pipe(Effect.either)
      expect(Either.isLeft(nothing) && nothing.left._tag === "denia/deploy/ActionConflict" ? nothing.left.message : nothing).toBe(
        "no previous deployment with a different image to roll back to"
      )

      const v2 = yield* deployAndSettle(service.id, V2)
      const restarted = yield* queued(coordinator.action(service.id, "restart"))
      expect(restarted.trigger).toBe("restart")
      expect(restarted.imageDigest).toBe(v2.imageDigest)
      const services = yield* ServicesRepo
      expect((yield* services.get(service.id)).previousDeploymentId).toBe(v1.id)

      const rollback = yield* queued(coordinator.action(service.id, "rollback"))
      expect(rollback.status).toBe("healthy")
      expect(rollback.trigger).toBe("rollback")
      expect(rollback.imageDigest).toBe(fakeDigest(V1))
      expect(yield* logOf(rollback.id)).toContain(`rollback: image of deployment ${v1.id}`)
      expect((yield* services.get(service.id)).promotedDeploymentId).toBe(rollback.id)
      yield* onlyRunning(rollback.id)
      expect(yield* publishedDeployments(service.id)).toEqual([runtimeDeploymentName(rollback.id)])
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))

  it.scopedLive("a replica that exits on its own is restarted on the same deployment, with backoff", () =>
    Effect.gen(function*() {
      const coordinator = yield* Coordinator
      const rt = yield* Runtime
      const deployments = yield* DeploymentsRepo
      const service = yield* createService
      const live = yield* deployAndSettle(service.id, V1)
      const name = runtimeDeploymentName(live.id)

      /** Ends the running replica from outside (as a crash), then waits until a new one serves. */
      const crashAndAwaitRelaunch = (restarts: number) =>
        Effect.gen(function*() {
          const [victim] = (yield* rt.list).filter((r) => r.state === "running")
          if (victim === undefined) return yield* Effect.dieMessage("no running replica")
          yield* rt.stop(victim)
          return yield* eventually(
            `restart ${restarts}`,
            Effect.gen(function*() {
              const d = yield* deployments.get(live.id)
              const running = (yield* rt.list).filter((r) => r.state === "running" && r.id !== victim.id)
              const published = yield* publishedDeployments(service.id)
              const relaunched = (yield* logOf(live.id)).match(/HEALTHY replica relaunched; receiving traffic/g)?.length ?? 0
              return d.restartCount === restarts && running.length === 1 && published.length === 1 && relaunched === restarts
                ? Option.some({ d, victim, replica: running[0] })
                : Option.none()
            })
          )
        })

      const first = yield* crashAndAwaitRelaunch(1)
      expect(first.replica?.deployment).toBe(name)
      expect(first.d.status).toBe("healthy")
      expect(first.d.lastExitReason).toBe("workload killed by signal 15 (SIGTERM)")
      const second = yield* crashAndAwaitRelaunch(2)
      expect(second.replica?.deployment).toBe(name)

      // no new deployment: the restarts are events on the live one, 20 ms then 40 ms apart
      expect((yield* deployments.listForService(service.id)).map((d) => d.id)).toEqual([live.id])
      const log = yield* logOf(live.id)
      expect(log).toMatch(/FAILED workload killed by signal 15 \(SIGTERM\) \(after .*\); restart 1 in 20 ms/)
      expect(log).toMatch(/FAILED workload killed by signal 15 \(SIGTERM\) \(after .*\); restart 2 in 40 ms/)
      expect(log.match(/HEALTHY replica relaunched; receiving traffic/g)?.length).toBe(2)
      // two crashes without staying up for the reset window: flapping, even while up
      const status = (yield* coordinator.withStatus(yield* (yield* ServicesRepo).get(service.id))).status
      expect(status?.state).toBe("crashloop")
      expect(status?.restarts).toBe(2)
      expect(status?.readyReplicas).toBe(1)
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))

  it.scopedLive("stop clears the pointer, takes the service out of traffic and stops its replicas", () =>
    Effect.gen(function*() {
      const coordinator = yield* Coordinator
      const service = yield* createService
      const live = yield* deployAndSettle(service.id, V1)
      yield* coordinator.stopService(service.id)
      expect((yield* (yield* ServicesRepo).get(service.id)).promotedDeploymentId).toBeNull()
      expect((yield* (yield* DeploymentsRepo).get(live.id)).status).toBe("stopped")
      expect(yield* runningDeployments).toEqual([])
      expect(yield* publishedDeployments(service.id)).toEqual([])
      expect(yield* coordinator.isRunning(service.id)).toBeUndefined()
      expect(yield* (yield* PublishedReplicas).drained).toHaveLength(1)
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))
})
