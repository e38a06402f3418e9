/**
 * The coordinator with the kinds of workload issue 16 added, on the scripted
 * FakeRuntime: a worker passes its settle check, a TCP check passes through
 * an accepting socket and fails through a refusing relay, a workload that dies
 * during the gate fails the deploy at once with why it died, and what the
 * image and the service ask of the sandbox reaches the ReplicaSpec.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import { Coordinator } from "../../../src/deploy/Coordinator.js"
import { DeploymentLog } from "../../../src/deploy/DeploymentLog.js"
import { type Deployment, TERMINAL_STATUSES } from "../../../src/domain/deployment.js"
import { CreateProject } from "../../../src/domain/project.js"
import { CreateService } from "../../../src/domain/service.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import type { ReplicaSpec } from "../../../src/runtime/types.js"
import { coordinatorTest, type CoordinatorTestOptions, PublishedReplicas } from "../../support/layers.js"
import { scriptedRuntime, type ScriptedRuntimeOptions } from "../../support/scriptedRuntime.js"

const APP = "registry.test/app:v1"
const QUITTER = "registry.test/app:quit"
const ODD = "registry.test/app:odd"
const CRASHER = "registry.test/app:crash"
const OOM = "registry.test/app:oom"
const KILLED = "registry.test/app:killed"

const images: CoordinatorTestOptions["images"] = {
  [APP]: {},
  [QUITTER]: { stopSignal: "SIGQUIT", volumes: ["/var/lib/app", "/data/"] },
  [ODD]: { stopSignal: "SIGFROB" },
  [CRASHER]: { env: ["SCRIPT=crash"] },
  [OOM]: { env: ["SCRIPT=oom"] },
  [KILLED]: { env: ["SCRIPT=killed"] }
}

/** Workloads of the SCRIPT images end on their own shortly after they start. */
const script: ScriptedRuntimeOptions = {
  // `/never` never passes, so only the workload's exit can end the gate early
  handler: (_spec, req, res) => {
    res.writeHead(req.url === "/never" ? 503 : 200)
    res.end()
  },
  exitWith: (spec) =>
    spec.env.SCRIPT === "crash"
      ? { afterMs: 50, status: { code: 1, signal: null, lastStderr: "fatal: /etc/app.conf: no such file" } }
      : spec.env.SCRIPT === "oom"
      ? { afterMs: 50, status: { code: null, signal: 9, oomKilled: true } }
      : spec.env.SCRIPT === "killed"
      ? { afterMs: 50, status: { code: null, signal: 9 } }
      : undefined,
  relayRefuses: (spec) => spec.env.REFUSE === "1"
}

const withRuntime = (options: ScriptedRuntimeOptions = script) => {
  const rt = scriptedRuntime(options)
  return { specs: rt.specs, layer: coordinatorTest({ images, runtimeLayer: rt.layer }) }
}

const createService = (fields: Record<string, unknown>) =>
  Effect.gen(function*() {
    const project = yield* (yield* ProjectsRepo).create(Schema.decodeUnknownSync(CreateProject)({ name: "alpha" }))
    return yield* (yield* ServicesRepo).create(
      Schema.decodeUnknownSync(CreateService)({
        projectId: project.id,
        name: "svc",
        source: { type: "image", image: APP },
        port: 8080,
        ...fields
      })
    )
  })

const settled = (deployment: Deployment) =>
  Effect.flatMap(DeploymentsRepo, (repo) =>
    Effect.gen(function*() {
      for (let i = 0; i < 1500; i++) {
        const d = yield* repo.get(deployment.id)
        if (TERMINAL_STATUSES.has(d.status)) return d
        yield* Effect.sleep("20 millis")
      }
      return yield* Effect.dieMessage(`deployment ${deployment.id} did not settle`)
    }))

const deploy = (serviceId: string, image: string) =>
  Effect.flatMap(Coordinator, (c) => c.deploy(serviceId, image)).pipe(Effect.flatMap(settled))

const logOf = (deploymentId: string) => Effect.map(DeploymentLog, (log) => fs.readFileSync(log.pathOf(deploymentId), "utf8"))

const lastSpec = (specs: ReadonlyArray<ReplicaSpec>): ReplicaSpec => {
  const s = specs[specs.length - 1]
  if (s === undefined) throw new Error("no replica was started")
  return s
}

describe("Coordinator: workers, TCP health, exit reasons, sandbox spec", () => {
  it.scopedLive("a worker (port null) is healthy once still running after its settle time; no socket, no PORT, nothing published", () => {
    const { layer, specs } = withRuntime()
    return Effect.gen(function*() {
      const service = yield* createService({ port: null, health: { type: "running", settleSeconds: 1 } })
      const d = yield* deploy(service.id, APP)
      expect(d.status).toBe("healthy")
      const spec = lastSpec(specs)
      expect(spec.port).toBeUndefined()
      expect(spec.env.PORT).toBeUndefined()
      expect(yield* (yield* PublishedReplicas).current(service.id)).toEqual([])
      expect(yield* logOf(d.id)).toMatch(/HEALTH still running after 1 s/)
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("a worker that dies before its settle time fails the deploy with why it died", () => {
    const { layer } = withRuntime()
    return Effect.gen(function*() {
      const service = yield* createService({ port: null, health: { type: "running", settleSeconds: 600 } })
      const d = yield* deploy(service.id, CRASHER)
      expect(d.status).toBe("failed")
      expect(d.error).toMatch(/^workload exited \(code 1\): fatal: \/etc\/app\.conf: no such file; see: denia logs /)
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("a TCP check passes when the port accepts through the socket", () => {
    const { layer } = withRuntime()
    return Effect.gen(function*() {
      const service = yield* createService({ port: 6379, health: { type: "tcp", timeoutSeconds: 5 } })
      const d = yield* deploy(service.id, APP)
      expect(d.status).toBe("healthy")
      expect(yield* logOf(d.id)).toMatch(/HEALTH TCP connect to port 6379 accepted/)
      expect((yield* (yield* PublishedReplicas).current(service.id)).length).toBe(1)
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("a TCP check fails when the relay cannot connect to the port inside", () => {
    const { layer } = withRuntime()
    return Effect.gen(function*() {
      const service = yield* createService({ port: 5432, env: { REFUSE: "1" }, health: { type: "tcp", timeoutSeconds: 1 } })
      const d = yield* deploy(service.id, APP)
      expect(d.status).toBe("failed")
      expect(d.error).toMatch(
        /^health check TCP connect to port 5432 did not pass within 1 s: nothing accepts connections on port 5432 inside the replica/
      )
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("a workload that dies during an HTTP or TCP gate fails at once with the exit reason, not the timeout", () => {
    const { layer } = withRuntime()
    return Effect.gen(function*() {
      const http = yield* createService({ health: { type: "http", path: "/never", timeoutSeconds: 3600 } })
      const crashed = yield* deploy(http.id, CRASHER)
      expect(crashed.error).toMatch(/^workload exited \(code 1\): fatal: \/etc\/app\.conf: no such file;/)
      const oom = yield* deploy(http.id, OOM)
      expect(oom.error).toMatch(/^workload killed by the kernel OOM killer \(memory limit 256 MiB\);/)
      const tcp = yield* (yield* ServicesRepo).create(
        Schema.decodeUnknownSync(CreateService)({
          projectId: http.projectId,
          name: "db",
          source: { type: "image", image: APP },
          port: 5432,
          env: { REFUSE: "1" },
          health: { type: "tcp", timeoutSeconds: 3600 }
        })
      )
      const killed = yield* deploy(tcp.id, KILLED)
      expect(killed.error).toMatch(/^workload killed by signal 9 \(SIGKILL\);/)
      // the service's status says the same
      const withStatus = yield* (yield* Coordinator).withStatus(yield* (yield* ServicesRepo).get(tcp.id))
      expect(withStatus.status?.state).toBe("failed")
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("the image's STOPSIGNAL, the resolved capabilities, shm and nofile reach the ReplicaSpec; VOLUMEs warn", () => {
    const { layer, specs } = withRuntime()
    return Effect.gen(function*() {
      const service = yield* createService({
        capabilities: { drop: ["NET_RAW", "MKNOD"], add: ["sys_ptrace"] },
        shmMb: 128
      })
      const d = yield* deploy(service.id, QUITTER)
      expect(d.status).toBe("healthy")
      const spec = lastSpec(specs)
      expect(spec.stopSignal).toBe(3)
      expect(spec.capabilities).toEqual([
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "AUDIT_WRITE",
        "SETFCAP",
        "SYS_PTRACE"
      ])
      expect(spec.shmBytes).toBe(128 * 1024 * 1024)
      expect(spec.nofile).toEqual({ soft: 1024, hard: 65536 })
      const log = yield* logOf(d.id)
      expect(log.match(/ WARN the image declares VOLUME /g)?.length).toBe(2)
      expect(log).toMatch(/WARN the image declares VOLUME \/data but the service has no volume there/)
      expect(log).toMatch(/WARN the image declares VOLUME \/var\/lib\/app but/)
    }).pipe(Effect.provide(layer))
  })

  it.scopedLive("drop ALL starts with no capabilities; an unknown STOPSIGNAL warns and stops with SIGTERM", () => {
    const { layer, specs } = withRuntime()
    return Effect.gen(function*() {
      const service = yield* createService({ capabilities: { drop: ["ALL"] } })
      const d = yield* deploy(service.id, ODD)
      expect(d.status).toBe("healthy")
      const spec = lastSpec(specs)
      expect(spec.capabilities).toEqual([])
      expect(spec.stopSignal).toBe(15)
      expect(spec.shmBytes).toBe(64 * 1024 * 1024)
      expect(yield* logOf(d.id)).toMatch(/WARN the image's STOPSIGNAL "SIGFROB" is not a signal this node knows; stopping with SIGTERM/)
      expect(spec.port).toBe(8080)
    }).pipe(Effect.provide(layer))
  })
})
