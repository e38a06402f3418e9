/**
 * What the deployment pipeline publishes on the daemon's event bus: a
 * promoted deployment with its replica entering traffic, a failed deployment
 * with its reason, and a stopped service whose replica leaves traffic.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DomainEvent } from "../../../src/events/DomainEvent.js"
import { waitFor } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { waitForDeployment } from "../../support/deployments.js"
import { type IngressDaemon, startIngressDaemon } from "../ingress/daemon.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("deployment events skipped: deployments need root (namespaces, overlay mounts)")

describe.runIf(privileged)("deployment events (privileged)", () => {
  let d: IngressDaemon
  let serviceId = ""
  const seen: Array<DomainEvent> = []
  const scope = Effect.runSync(Scope.make())
  const body = async <T>(r: Response): Promise<T> => (await r.json()) as T
  const deploy = async (json: Record<string, unknown>) => {
    const r = await d.request(`/v1/services/${serviceId}/deployments`, { method: "POST", json })
    expect(r.status).toBe(202)
    return (await body<{ id: string }>(r)).id
  }
  const ofService = () => seen.filter((e) => "serviceId" in e && e.serviceId === serviceId)

  beforeAll(async () => {
    d = await startIngressDaemon()
    await Effect.runPromise(d.events.on("test", undefined, (e) => Effect.sync(() => seen.push(e))).pipe(Scope.extend(scope)))
    const projects = await body<{ items: Array<{ id: string; name: string }> }>(await d.request("/v1/projects"))
    const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const created = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "web", source: { type: "hosted", tag: "v1" }, port: 8080, health: { path: "/", timeoutSeconds: 20 } }
    })
    expect(created.status).toBe(201)
    serviceId = (await body<{ id: string }>(created)).id
    await pushHttpd(d.config.values.bindAddr, "default/web", "v1", "hello v1")
  }, 180_000)

  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await d?.stop()
  })

  it("promotion, failure and stop are published", async () => {
    expect(ofService().map((e) => e._tag)).toEqual(["ServiceCreated"])
    const ok = await deploy({})
    expect(await waitForDeployment(d, ok, 120_000)).toMatchObject({ status: "healthy" })
    await waitFor(() => ofService().some((e) => e._tag === "DeploymentPromoted"))
    expect(ofService()).toContainEqual(expect.objectContaining({ _tag: "DeploymentPromoted", serviceId, deploymentId: ok }))
    const started = ofService().find((e) => e._tag === "ReplicaStarted")
    expect(started).toBeDefined()

    const bad = await deploy({ image: `${d.config.values.bindAddr}/default/web:missing` })
    expect(await waitForDeployment(d, bad, 120_000)).toMatchObject({ status: "failed" })
    await waitFor(() => ofService().some((e) => e._tag === "DeploymentFailed"))
    expect(ofService().find((e) => e._tag === "DeploymentFailed")).toMatchObject({ deploymentId: bad, reason: expect.stringMatching(/.+/) })

    expect((await d.request(`/v1/services/${serviceId}/stop`, { method: "POST" })).status).toBe(202)
    await waitFor(() => ofService().some((e) => e._tag === "ServiceStopped"))
    const stopped = ofService().find((e) => e._tag === "ReplicaStopped")
    expect(stopped).toMatchObject({
      replicaId: started !== undefined && "replicaId" in started ? started.replicaId : "?",
      reason: "unpublished"
    })
  }, 240_000)
})
