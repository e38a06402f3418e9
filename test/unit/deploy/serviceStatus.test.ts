import { describe, expect, it } from "vitest"
import { deriveStatus, type StatusInputs } from "../../../src/deploy/serviceStatus.js"
import type { Deployment } from "../../../src/domain/deployment.js"
import type { Service } from "../../../src/domain/service.js"

const service = (promoted: string | null): Service => ({
  id: "0190e6a0-0000-7000-8000-000000000001",
  projectId: "0190e6a0-0000-7000-8000-000000000002",
  name: "web",
  source: { type: "image", image: "busybox", registryId: null },
  port: 8080,
  env: {},
  limits: null,
  health: { type: "http", path: "/", timeoutSeconds: 30 },
  tlsEnabled: false,
  autoscale: null,
  endpoints: [],
  volumes: [],
  capabilities: {},
  shmMb: 64,
  promotedDeploymentId: promoted,
  previousDeploymentId: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z"
})
const dep = (status: Deployment["status"], extra: Partial<Deployment> = {}): Deployment => ({
  id: "0190e6a0-0000-7000-8000-00000000000d",
  serviceId: "0190e6a0-0000-7000-8000-000000000001",
  status,
  imageRef: "busybox",
  createdAt: "2026-01-01T00:00:00.000Z",
  ...extra
})
const inputs = (i: Partial<StatusInputs>): StatusInputs => ({
  service: service(null),
  live: undefined,
  latest: undefined,
  readyReplicas: 0,
  crash: undefined,
  pendingChanges: false,
  ...i
})
const LIVE = "0190e6a0-0000-7000-8000-00000000000d"

describe("service status", () => {
  it("without a live deployment: never-deployed, deploying, failed, stopped", () => {
    expect(deriveStatus(inputs({})).state).toBe("never-deployed")
    expect(deriveStatus(inputs({ latest: dep("building") })).state).toBe("deploying")
    expect(deriveStatus(inputs({ latest: dep("failed") })).state).toBe("failed")
    expect(deriveStatus(inputs({ latest: dep("stopped") }))).toMatchObject({ state: "stopped", desiredReplicas: 0, liveDeploymentId: null })
  })

  it("failed with nothing live: lastExit says why the newest deployment failed", () => {
    const error = "workload exited (code 1): chown(\"/var/lib/nginx/body\", 33) failed (1: Operation not permitted); see: denia logs web"
    expect(deriveStatus(inputs({ latest: dep("failed", { error }) }))).toMatchObject({ state: "failed", lastExit: error })
  })

  it("a live deployment with a ready replica is running", () => {
    const s = deriveStatus(inputs({ service: service(LIVE), live: dep("healthy", { restartCount: 1 }), readyReplicas: 1 }))
    expect(s).toMatchObject({ state: "running", readyReplicas: 1, desiredReplicas: 1, restarts: 1, liveDeploymentId: LIVE })
  })

  it("crashloop while down after a crash, and while flapping even when momentarily up", () => {
    const nextRestartAt = new Date("2026-01-01T00:01:00.000Z")
    const down = deriveStatus(
      inputs({
        service: service(LIVE),
        live: dep("healthy", { restartCount: 3, lastExitReason: "workload exited (code 1) after 1 s: boom" }),
        crash: { crashes: 1, lastExit: "workload exited (code 1) after 1 s: boom", nextRestartAt }
      })
    )
    expect(down).toMatchObject({
      state: "crashloop",
      restarts: 3,
      lastExit: "workload exited (code 1) after 1 s: boom",
      nextRestartAt: nextRestartAt.toISOString()
    })
    const flapping = deriveStatus(
      inputs({
        service: service(LIVE),
        live: dep("healthy"),
        readyReplicas: 1,
        crash: { crashes: 2, lastExit: "x", nextRestartAt: undefined }
      })
    )
    expect(flapping.state).toBe("crashloop")
    const recovered = deriveStatus(
      inputs({
        service: service(LIVE),
        live: dep("healthy"),
        readyReplicas: 1,
        crash: { crashes: 1, lastExit: "x", nextRestartAt: undefined }
      })
    )
    expect(recovered.state).toBe("running")
  })

  it("a live deployment being relaunched (daemon start) is deploying", () => {
    expect(deriveStatus(inputs({ service: service(LIVE), live: dep("healthy") })).state).toBe("deploying")
  })
})
