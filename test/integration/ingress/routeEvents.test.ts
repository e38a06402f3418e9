/**
 * The live route table follows domain events, with no polling of the
 * database: service creation, a project rename and a service deletion
 * through the API change `/v1/ingress/routes` within a bounded wait, while a
 * row written behind the daemon's back (no event) is not routed until an
 * event says so.
 */
import { Effect, Layer, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sqliteLayer } from "../../../src/db/Database.js"
import { CreateService } from "../../../src/domain/service.js"
import { DomainEvent } from "../../../src/events/DomainEvent.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { waitFor } from "../../support/daemon.js"
import { type IngressDaemon, startIngressDaemon } from "./daemon.js"

let d: IngressDaemon

const body = async <T>(r: Response): Promise<T> => (await r.json()) as T
const hostnames = async () =>
  (await body<{ items: Array<{ hostname: string }> }>(await d.request("/v1/ingress/routes"))).items.map((r) => r.hostname)
/** Well below the 60 s safety resync: a change seen within this came from an event. */
const BOUND_MS = 10_000
const routed = (hostname: string) => waitFor(async () => (await hostnames()).includes(hostname), BOUND_MS)
const unrouted = (hostname: string) => waitFor(async () => !(await hostnames()).includes(hostname), BOUND_MS)

beforeAll(async () => {
  d = await startIngressDaemon()
}, 60_000)
afterAll(async () => {
  await d?.stop()
})

describe("route table and domain events", () => {
  it("creation, project rename and deletion through the API change the live routes", async () => {
    const project = await d.request("/v1/projects", { method: "POST", json: { name: "shop" } })
    expect(project.status).toBe(201)
    const projectId = (await body<{ id: string }>(project)).id
    const created = await d.request("/v1/services", {
      method: "POST",
      json: { projectId, name: "web", port: 8080, source: { type: "image", image: "busybox" } }
    })
    expect(created.status).toBe(201)
    const serviceId = (await body<{ id: string }>(created)).id
    await routed("web.shop.localhost")

    const renamed = await d.request(`/v1/projects/${projectId}`, { method: "PATCH", json: { name: "store" } })
    expect(renamed.status).toBe(200)
    await routed("web.store.localhost")
    expect(await hostnames()).not.toContain("web.shop.localhost")

    const deleted = await d.request(`/v1/services/${serviceId}`, { method: "DELETE" })
    expect(deleted.status).toBe(204)
    await unrouted("web.store.localhost")
  })

  it("a service row written without an event is not routed until an event arrives (no polling)", async () => {
    const projects = await body<{ items: Array<{ id: string; name: string }> }>(await d.request("/v1/projects"))
    const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const input = Schema.decodeUnknownSync(CreateService)({
      projectId,
      name: "quiet",
      port: 8080,
      source: { type: "image", image: "busybox" }
    })
    const behindTheBack = Effect.flatMap(ServicesRepo, (repo) => repo.create(input)).pipe(
      Effect.provide(ServicesRepo.layer.pipe(Layer.provide(sqliteLayer(d.config.paths.sqlite)))),
      Effect.scoped
    )
    const service = await Effect.runPromise(behindTheBack)
    // the old loop re-read the database every 2 s; give it more than that
    await new Promise((r) => setTimeout(r, 3_000))
    expect(await hostnames()).not.toContain("quiet.default.localhost")
    await Effect.runPromise(d.events.publish(DomainEvent.ServiceCreated({ projectId, serviceId: service.id })))
    await routed("quiet.default.localhost")
  })
})
