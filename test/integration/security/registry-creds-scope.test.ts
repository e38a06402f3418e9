/**
 * Issue 13 item 2: a project registry's credentials reach only its own
 * endpoint. Fake registries on 127.0.0.1 record every Authorization header:
 * `front` (the registry's endpoint, Basic-protected, redirects blobs to
 * `cdn`, another port), `cdn` (blob storage), `attacker` (always challenges,
 * to bait credentials) and `quiet` (never challenges) in front of a real
 * docker-registry.
 */
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { busyboxImage } from "../../../scripts/test-images/images.js"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { buildAndPush } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry } from "../../support/registry.js"

const USER = "deployer"
const PASS = "s3cret-front-password"
const TOKEN = "static-registry-token-quiet"
const BASIC = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`

interface Seen {
  readonly requests: Array<{ url: string; authorization: string | undefined }>
}

describe("registry credentials are scoped to the registry's endpoint", () => {
  let upstream: RunningRegistry
  let d: TestDaemon
  let projectId: string
  const servers: Array<http.Server> = []
  const front: Seen = { requests: [] }
  const cdn: Seen = { requests: [] }
  const attacker: Seen = { requests: [] }
  const quiet: Seen = { requests: [] }
  let frontHost = ""
  let cdnHost = ""
  let attackerHost = ""
  let quietHost = ""
  let basicRegistryId = ""
  let tokenRegistryId = ""

  const record = (seen: Seen, req: http.IncomingMessage) =>
    seen.requests.push({ url: req.url ?? "", authorization: req.headers.authorization })

  const forward = (target: string, req: http.IncomingMessage, res: http.ServerResponse) => {
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "authorization") headers[k] = v
    const up = http.request(`${upstream.url}${target}`, { method: req.method, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on("error", () => res.destroy())
    up.end()
  }

  const listen = async (handler: http.RequestListener) => {
    const s = http.createServer(handler)
    servers.push(s)
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve))
    const a = s.address()
    return `127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`
  }

  beforeAll(async () => {
    upstream = await startRegistry()
    await buildAndPush(busyboxImage(), upstream.host, "team/app", "v1")
    cdnHost = await listen((req, res) => {
      record(cdn, req)
      forward((req.url ?? "/").replace(/^\/cdn/, ""), req, res)
    })
    frontHost = await listen((req, res) => {
      record(front, req)
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { "www-authenticate": "Basic realm=\"front\"", "content-type": "application/json" }).end("{}")
        return
      }
      const url = req.url ?? "/"
      if (url.includes("/blobs/")) {
        res.writeHead(307, { location: `http://${cdnHost}/cdn${url}` }).end()
        return
      }
      forward(url, req, res)
    })
    attackerHost = await listen((req, res) => {
      record(attacker, req)
      res.writeHead(401, { "www-authenticate": "Basic realm=\"attacker\"", "content-type": "application/json" }).end("{}")
    })
    quietHost = await listen((req, res) => {
      record(quiet, req)
      forward(req.url ?? "/", req, res)
    })
    d = await startTestDaemon({ insecure_registries: [frontHost, cdnHost, attackerHost, quietHost] })
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const basic = await d.request(`/v1/projects/${projectId}/registries`, {
      method: "POST",
      json: { name: "front", endpoint: frontHost, auth: { kind: "basic", username: USER, password: PASS } }
    })
    expect(basic.status, await basic.clone().text()).toBe(201)
    basicRegistryId = ((await basic.json()) as { id: string }).id
    const token = await d.request(`/v1/projects/${projectId}/registries`, {
      method: "POST",
      json: { name: "quiet", endpoint: quietHost, auth: { kind: "token", token: TOKEN } }
    })
    expect(token.status, await token.clone().text()).toBe(201)
    tokenRegistryId = ((await token.json()) as { id: string }).id
  }, 120_000)

  afterAll(async () => {
    await d?.stop()
    for (const s of servers) await new Promise((r) => s.close(r))
    await upstream?.stop()
  })

  const errorOf = async (r: Response) => ((await r.json()) as { error: { message: string } }).error.message

  const waitPull = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const s = (await (await d.request(`/v1/oci/pulls/${id}`)).json()) as { status: string; error?: string }
      if (s.status !== "running") return s
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error("pull did not finish")
  }

  const service = (name: string, image: string, registryId: string) => ({
    projectId,
    name,
    port: 8080,
    source: { type: "image", image, registryId }
  })

  it("creating a service whose image is on another host than its registry is a 400 naming source.registryId", async () => {
    const r = await d.request("/v1/services", { method: "POST", json: service("evil", `${attackerHost}/x:1`, basicRegistryId) })
    expect(r.status).toBe(400)
    expect(await errorOf(r)).toMatch(/^source\.registryId: /)
    const ok = await d.request("/v1/services", { method: "POST", json: service("good", `${frontHost}/team/app:v1`, basicRegistryId) })
    expect(ok.status, await ok.clone().text()).toBe(201)
  })

  it("PATCHing the image to another host while keeping the registryId is a 400, and so is a deploy override", async () => {
    const created = await d.request("/v1/services", {
      method: "POST",
      json: service("patched", `${frontHost}/team/app:v1`, basicRegistryId)
    })
    expect(created.status).toBe(201)
    const id = ((await created.json()) as { id: string }).id
    const patch = await d.request(`/v1/services/${id}`, {
      method: "PATCH",
      json: { source: { type: "image", image: `${attackerHost}/x:1`, registryId: basicRegistryId } }
    })
    expect(patch.status).toBe(400)
    expect(await errorOf(patch)).toMatch(/^source\.registryId: /)
    // Docker Hub aliases are not the front registry either
    const hub = await d.request(`/v1/services/${id}`, {
      method: "PATCH",
      json: { source: { type: "image", image: "index.docker.io/library/busybox:1", registryId: basicRegistryId } }
    })
    expect(hub.status).toBe(400)
    const deploy = await d.request(`/v1/services/${id}/deployments`, { method: "POST", json: { image: `${attackerHost}/x:1` } })
    expect(deploy.status).toBe(400)
    expect(await errorOf(deploy)).toMatch(/^source\.registryId: /)
    const pull = await d.request("/v1/oci/pulls", {
      method: "POST",
      json: { image: `${attackerHost}/x:1`, projectId, registryId: basicRegistryId }
    })
    expect(pull.status).toBe(400)
    expect(await errorOf(pull)).toMatch(/^registryId: /)
    expect(attacker.requests.filter((r) => r.authorization !== undefined)).toEqual([])
  })

  it("pulls with Basic credentials send them to the endpoint only after its challenge, never to the blob CDN", async () => {
    front.requests.length = 0
    cdn.requests.length = 0
    const r = await d.request("/v1/oci/pulls", {
      method: "POST",
      json: { image: `${frontHost}/team/app:v1`, projectId, registryId: basicRegistryId }
    })
    expect(r.status, await r.clone().text()).toBe(202)
    const done = await waitPull(((await r.json()) as { id: string }).id)
    expect(done, JSON.stringify(done)).toMatchObject({ status: "done" })
    expect(front.requests[0]?.authorization).toBeUndefined()
    expect(front.requests.some((x) => x.authorization === BASIC)).toBe(true)
    expect(cdn.requests.length).toBeGreaterThan(0)
    expect(cdn.requests.filter((x) => x.authorization !== undefined)).toEqual([])
    expect(attacker.requests.filter((x) => x.authorization !== undefined)).toEqual([])
  })

  it("a static bearer token is not sent to a registry that never asks for credentials", async () => {
    quiet.requests.length = 0
    const r = await d.request("/v1/oci/pulls", {
      method: "POST",
      json: { image: `${quietHost}/team/app:v1`, projectId, registryId: tokenRegistryId }
    })
    expect(r.status, await r.clone().text()).toBe(202)
    const done = await waitPull(((await r.json()) as { id: string }).id)
    expect(done, JSON.stringify(done)).toMatchObject({ status: "done" })
    expect(quiet.requests.length).toBeGreaterThan(0)
    expect(quiet.requests.filter((x) => x.authorization !== undefined)).toEqual([])
  })
})
