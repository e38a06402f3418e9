/**
 * The recreate strategy on the FakeRuntime: a service with a volume stops
 * its live replica before the new one starts, passes the same volume to
 * both, and a failed deployment brings the previous one back on the same
 * data (and says so in its log). A mounted volume cannot be removed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
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
import type { BindMount } from "../../../src/runtime/types.js"
import { Volumes } from "../../../src/volumes/Volumes.js"
import { coordinatorTest, type CoordinatorTestOptions } from "../../support/layers.js"

const V1 = "registry.test/db:v1"
const V2 = "registry.test/db:v2"
const SICK = "registry.test/db:sick"
const images: CoordinatorTestOptions["images"] = { [V1]: {}, [V2]: {}, [SICK]: { env: ["HEALTH=fail"] } }

const starts: Array<{ readonly deployment: string; readonly mounts: ReadonlyArray<BindMount> }> = []
const runtime: CoordinatorTestOptions["runtime"] = {
  handler: (spec, _req, res) => {
    res.writeHead(spec.env.HEALTH === "fail" ? 503 : 200)
    res.end("ok")
  },
  failStart: (spec) => {
    starts.push({ deployment: spec.deployment, mounts: spec.mounts ?? [] })
    return undefined
  }
}

const createService = Effect.gen(function*() {
  const project = yield* (yield* ProjectsRepo).create(Schema.decodeUnknownSync(CreateProject)({ name: "alpha" }))
  return yield* (yield* ServicesRepo).create(
    Schema.decodeUnknownSync(CreateService)({
      projectId: project.id,
      name: "db",
      source: { type: "image", image: V1 },
      port: 5432,
      health: { path: "/", timeoutSeconds: 1 },
      volumes: [{ name: "data", mountPath: "/var/lib/data" }]
    })
  )
})

const settled = (d: Deployment) =>
  Effect.gen(function*() {
    const repo = yield* DeploymentsRepo
    for (let i = 0; i < 1000; i++) {
      const now = yield* repo.get(d.id)
      if (TERMINAL_STATUSES.has(now.status)) return now
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`deployment ${d.id} did not settle`)
  })

const deployAndSettle = (serviceId: string, image: string) =>
  Effect.flatMap(Coordinator, (c) => c.deploy(serviceId, image)).pipe(Effect.flatMap(settled))

const logOf = (id: string) => Effect.map(DeploymentLog, (log) => fs.readFileSync(log.pathOf(id), "utf8"))

const running = Effect.flatMap(Runtime, (rt) => Effect.map(rt.list, (l) => l.filter((r) => r.state === "running").map((r) => r.deployment)))

/** Bounded poll until `probe` holds. */
const until = <E, R>(what: string, probe: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* probe) return
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`timed out waiting for ${what}`)
  })

describe("recreate strategy (FakeRuntime)", () => {
  it.scopedLive("a redeploy stops the live replica first and mounts the same volume", () =>
    Effect.gen(function*() {
      starts.length = 0
      const service = yield* createService
      const v1 = yield* deployAndSettle(service.id, V1)
      expect(v1.status).toBe("healthy")
      const v2 = yield* deployAndSettle(service.id, V2)
      expect(v2.status).toBe("healthy")

      const log = yield* logOf(v2.id)
      const stopping = log.indexOf(`recreate: stopping deployment ${v1.id} first`)
      const started = log.search(/replica r[0-9a-f]+ started/)
      expect(stopping).toBeGreaterThan(-1)
      expect(started).toBeGreaterThan(stopping)
      expect(yield* logOf(v1.id)).toContain(`stopped for deployment ${v2.id} (recreate)`)
      expect(yield* running).toEqual([runtimeDeploymentName(v2.id)])

      expect(starts.map((s) => s.deployment)).toEqual([runtimeDeploymentName(v1.id), runtimeDeploymentName(v2.id)])
      const [first, second] = starts
      expect(first?.mounts).toHaveLength(1)
      expect(first?.mounts[0]?.target).toBe("/var/lib/data")
      expect(first?.mounts[0]?.readOnly).toBe(false)
      expect(first?.mounts[0]?.source).toMatch(new RegExp(`/volumes/${service.projectId}/db/data$`))
      expect(second?.mounts).toEqual(first?.mounts)
      expect(fs.statSync(first?.mounts[0]?.source ?? "").isDirectory()).toBe(true)
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))

  it.scopedLive("a failed deployment starts the previous one again on the same data and says so", () =>
    Effect.gen(function*() {
      const service = yield* createService
      const v1 = yield* deployAndSettle(service.id, V1)
      const sick = yield* deployAndSettle(service.id, SICK)
      expect(sick.status).toBe("failed")
      const log = yield* logOf(sick.id)
      expect(log).toContain(`starting the previous deployment ${v1.id} again on the same data`)
      expect(log).toContain(`the previous deployment ${v1.id} is healthy again and serving`)
      expect((yield* (yield* ServicesRepo).get(service.id)).promotedDeploymentId).toBe(v1.id)
      yield* until("v1 to run again", Effect.map(running, (r) => r.length === 1 && r[0] === runtimeDeploymentName(v1.id)))
      const coordinator = yield* Coordinator
      expect(yield* coordinator.isRunning(service.id)).toBe(v1.id)
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))

  it.scopedLive("a mounted volume cannot be removed; after stop it can", () =>
    Effect.gen(function*() {
      const service = yield* createService
      yield* deployAndSettle(service.id, V1)
      const volumes = yield* Volumes
      const ref = { projectId: service.projectId, serviceName: "db" }
      const refused = yield* Effect.either(volumes.remove(ref, "data"))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("denia/volumes/VolumeInUse")
      const listed = yield* volumes.list(ref, service.volumes)
      expect(listed.map((v) => [v.name, v.mounted, v.created])).toEqual([["data", true, true]])
      yield* (yield* Coordinator).stopService(service.id)
      yield* volumes.remove(ref, "data")
      const after = yield* volumes.list(ref, service.volumes)
      expect(after.map((v) => [v.name, v.mounted, v.created])).toEqual([["data", false, false]])
    }).pipe(Effect.provide(coordinatorTest({ images, runtime }))))
})
