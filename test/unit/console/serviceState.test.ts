/** Service state for display and button enabling, source lines and push commands (pure). */
import { describe, expect, it } from "vitest"
import { dockerPush, pushTargetOf, skopeoPush } from "../../../console/src/lib/push.js"
import { allowedActions, serviceView, stateLabel } from "../../../console/src/lib/serviceState.js"
import { sourceSummary } from "../../../console/src/lib/source.js"
import type { Deployment } from "../../../src/domain/deployment.js"

const dep = (id: string, status: Deployment["status"], over: Partial<Deployment> = {}): Deployment => ({
  id,
  serviceId: "s",
  status,
  imageRef: "img",
  createdAt: "t",
  ...over
})
const status = {
  state: "running" as const,
  readyReplicas: 2,
  desiredReplicas: 3,
  restarts: 1,
  liveDeploymentId: "d1",
  pendingChanges: true
}

describe("serviceView", () => {
  it("takes the daemon's status as is when present", () => {
    const v = serviceView({ promotedDeploymentId: "other", status }, undefined)
    expect(v).toMatchObject({
      state: "running",
      liveDeploymentId: "d1",
      replicas: { ready: 2, desired: 3 },
      pendingChanges: true,
      derived: false
    })
    expect(v && stateLabel(v)).toBe("running 2/3")
  })

  it("derives the state from the promoted and newest deployments otherwise", () => {
    expect(serviceView({ promotedDeploymentId: null }, undefined)).toBeUndefined()
    expect(serviceView({ promotedDeploymentId: null }, [])?.state).toBe("never-deployed")
    expect(serviceView({ promotedDeploymentId: null }, [dep("d2", "building")])?.state).toBe("deploying")
    const failed = serviceView({ promotedDeploymentId: null }, [dep("d2", "failed", { error: "health check failed" })])
    expect([failed?.state, failed?.lastExit]).toEqual(["failed", "health check failed"])
    expect(serviceView({ promotedDeploymentId: null }, [dep("d2", "stopped")])?.state).toBe("stopped")
    // A failed new deployment leaves the promoted one live.
    const running = serviceView({ promotedDeploymentId: "d1" }, [
      dep("d2", "failed"),
      dep("d1", "healthy", { restartCount: 3, lastExitReason: "exited (code 1)" })
    ])
    expect(running).toMatchObject({ state: "running", liveDeploymentId: "d1", restarts: 3, lastExit: "exited (code 1)", derived: true })
    if (running === undefined) throw new Error("no view")
    expect(stateLabel(running)).toBe("running")
    expect(stateLabel({ ...running, state: "never-deployed" })).toBe("never deployed")
  })
})

describe("allowedActions", () => {
  const svc = { previousDeploymentId: null }
  const at = (state: typeof status.state | "stopped" | "failed" | "crashloop" | "deploying" | "never-deployed") =>
    allowedActions(serviceView({ promotedDeploymentId: null, status: { ...status, state } }, undefined), svc)
  it("enables Start only when stopped or failed and Stop only while something runs", () => {
    expect(at("running")).toMatchObject({ start: false, stop: true, restart: true })
    expect(at("crashloop")).toMatchObject({ start: false, stop: true, restart: true })
    expect(at("deploying")).toMatchObject({ start: false, stop: true, restart: false })
    expect(at("stopped")).toMatchObject({ start: true, stop: false, restart: false })
    expect(at("failed")).toMatchObject({ start: true, stop: false, restart: false })
    expect(at("never-deployed")).toMatchObject({ deploy: true, start: false, stop: false, restart: false, rollback: false })
    expect(allowedActions(undefined, svc)).toMatchObject({ deploy: true, start: false, stop: false })
    // Derived: Start needs a deployment that once ran; a service whose only deployment failed can only deploy.
    expect(allowedActions(serviceView({ promotedDeploymentId: null }, [dep("d1", "failed")]), svc).start).toBe(false)
    expect(allowedActions(serviceView({ promotedDeploymentId: null }, [dep("d2", "failed"), dep("d1", "stopped")]), svc).start).toBe(true)
    expect(allowedActions(serviceView({ promotedDeploymentId: "d1" }, [dep("d1", "healthy")]), { previousDeploymentId: "d0" }).rollback)
      .toBe(true)
  })
})

describe("sourceSummary", () => {
  it("reads as one line per source type", () => {
    const where = { project: "default", service: "web" }
    expect(sourceSummary({ type: "hosted", tag: "v1" }, where)).toBe("hosted registry: default/web:v1")
    expect(sourceSummary({ type: "image", image: "nginx:1.27", registryId: null }, where)).toBe("image: nginx:1.27")
    expect(sourceSummary({ type: "git", url: "https://example.com/a.git", ref: "main", dockerfile: "Dockerfile", context: "." }, where))
      .toBe("git: https://example.com/a.git@main")
    expect(sourceSummary({ type: "upload", dockerfile: "Dockerfile", context: "app" }, where)).toBe("upload: app/Dockerfile")
  })
})

describe("push commands", () => {
  it("name this host and the service's repository, and skip TLS checks only for plain HTTP", () => {
    expect(skopeoPush(pushTargetOf({ host: "paas.example.com", protocol: "https:" }), "shop/api", "v2")).toBe(
      "skopeo copy --dest-creds x:<token> docker-archive:image.tar docker://paas.example.com/shop/api:v2"
    )
    expect(skopeoPush(pushTargetOf({ host: "127.0.0.1:7180", protocol: "http:" }), "default/web", "v1")).toContain(
      "--dest-tls-verify=false"
    )
    expect(dockerPush(pushTargetOf({ host: "h:1", protocol: "https:" }), "p/s", "t").at(-1)).toBe("docker push h:1/p/s:t")
  })
})
