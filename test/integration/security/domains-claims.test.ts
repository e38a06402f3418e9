/**
 * Domain claims (issue 13 item 10, ADR 0010): an unverified claim does not
 * lock a hostname away from its owner; the first verification wins and the
 * other claims are released with a visible reason; a verified hostname
 * still refuses new claims; pending claims expire after
 * `domain_claim_ttl_hours`; only verified domains route.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sqliteLayer } from "../../../src/db/Database.js"
import { type DnsServer, startDns } from "../../support/pebble.js"
import { type IngressDaemon, startIngressDaemon } from "../ingress/daemon.js"
import { request } from "../ingress/helpers.js"

interface DomainBody {
  id: string
  serviceId: string
  hostname: string
  status: string
  statusReason: string | null
  verificationToken: string
}

let dns: DnsServer
let d: IngressDaemon
let victim = ""
let squatter = ""

const json = async <T>(r: Response): Promise<T> => (await r.json()) as T

const serviceIn = async (projectName: string, name: string) => {
  const p = await d.request("/v1/projects", { method: "POST", json: { name: projectName } })
  expect(p.status).toBe(201)
  const projectId = (await json<{ id: string }>(p)).id
  const s = await d.request("/v1/services", {
    method: "POST",
    json: { projectId, name, port: 8080, source: { type: "image", image: "busybox" } }
  })
  expect(s.status).toBe(201)
  return (await json<{ id: string }>(s)).id
}

const attach = (serviceId: string, hostname: string) =>
  d.request(`/v1/services/${serviceId}/domains`, { method: "POST", json: { hostname } })
const list = async (serviceId: string) =>
  (await json<{ items: Array<DomainBody> }>(await d.request(`/v1/services/${serviceId}/domains`))).items
const verify = (serviceId: string, domainId: string) =>
  d.request(`/v1/services/${serviceId}/domains/${domainId}/verify`, { method: "POST" })
const routes = async () =>
  (await json<{ items: Array<{ hostname: string; serviceId: string | null }> }>(await d.request("/v1/ingress/routes"))).items

const sqlRun = (f: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(Layer.orDie(sqliteLayer(d.config.paths.sqlite))), Effect.orDie)
  )

beforeAll(async () => {
  dns = await startDns()
  d = await startIngressDaemon({ dns_servers: [dns.address], domain_verification_allow_private: true, domain_claim_ttl_hours: 24 })
  victim = await serviceIn("owner", "shop")
  squatter = await serviceIn("squatter", "grab")
}, 60_000)

afterAll(async () => {
  await d?.stop()
  await dns?.stop()
})

describe("domain claims", () => {
  it("a tenant's unverified claim does not block the owner; the first to verify wins and the other claim is released", async () => {
    const early = await attach(squatter, "shop.example.test")
    expect(early.status).toBe(201)
    const squat = await json<DomainBody>(early)

    const owner = await attach(victim, "shop.example.test")
    expect(owner.status).toBe(201)
    const claim = await json<DomainBody>(owner)
    expect(claim).toMatchObject({ status: "pending", statusReason: null })
    expect(claim.verificationToken).not.toBe(squat.verificationToken)

    // both challenges are served while both claims are open; nothing routes yet
    for (const token of [squat.verificationToken, claim.verificationToken]) {
      expect((await request(d.httpPort, "shop.example.test", `/.well-known/denia-challenge/${token}`)).status).toBe(200)
    }
    expect((await routes()).some((r) => r.hostname === "shop.example.test")).toBe(false)

    const won = await verify(victim, claim.id)
    expect(won.status).toBe(200)
    expect(await json<DomainBody>(won)).toMatchObject({ status: "verified" })

    const lost = await list(squatter)
    expect(lost.map((x) => [x.hostname, x.status, x.statusReason])).toEqual([[
      "shop.example.test",
      "released",
      "verified by another project"
    ]])
    expect((await request(d.httpPort, "shop.example.test", `/.well-known/denia-challenge/${squat.verificationToken}`)).status).not.toBe(200)

    const late = await verify(squatter, squat.id)
    expect(late.status).toBe(409)
    expect((await json<{ error: { message: string } }>(late)).error.message).toMatch(/^hostname: .*released/)

    // a verified hostname still refuses new claims, from anyone
    for (const sid of [squatter, victim]) {
      const again = await attach(sid, "shop.example.test")
      expect(again.status).toBe(409)
      expect((await json<{ error: { message: string } }>(again)).error.message).toMatch(/^hostname: /)
    }
    const table = (await routes()).filter((r) => r.hostname === "shop.example.test")
    expect(table.map((r) => r.serviceId)).toEqual([victim])
  })

  it("one open claim per service and hostname", async () => {
    expect((await attach(squatter, "twice.example.test")).status).toBe(201)
    const second = await attach(squatter, "twice.example.test")
    expect(second.status).toBe(409)
    expect((await json<{ error: { message: string } }>(second)).error.message).toMatch(/^hostname: /)
  })

  it("pending claims expire after domain_claim_ttl_hours and stop serving their challenge; verified domains do not expire", async () => {
    const r = await attach(squatter, "stale.example.test")
    expect(r.status).toBe(201)
    const stale = await json<DomainBody>(r)
    const challenge = `/.well-known/denia-challenge/${stale.verificationToken}`
    expect((await request(d.httpPort, "stale.example.test", challenge)).status).toBe(200)

    const old = new Date(Date.now() - 25 * 3_600_000).toISOString()
    await sqlRun((sql) => sql`UPDATE domains SET created_at = ${old} WHERE hostname IN ('stale.example.test', 'shop.example.test')`)

    // the owner can claim it right away (the check runs on attach), the stale claim reads as expired
    const owner = await attach(victim, "stale.example.test")
    expect(owner.status).toBe(201)
    const mine = (await list(squatter)).find((x) => x.hostname === "stale.example.test")
    expect(mine).toMatchObject({ status: "expired" })
    expect(mine?.statusReason).toContain("domain_claim_ttl_hours")
    expect((await request(d.httpPort, "stale.example.test", challenge)).status).not.toBe(200)
    expect((await verify(squatter, stale.id)).status).toBe(409)

    // the verified domain is untouched
    expect((await list(victim)).find((x) => x.hostname === "shop.example.test")).toMatchObject({ status: "verified" })

    // attaching again replaces the expired claim with a fresh pending one
    const again = await attach(squatter, "stale.example.test")
    expect(again.status).toBe(201)
    expect((await list(squatter)).filter((x) => x.hostname === "stale.example.test").map((x) => x.status)).toEqual(["pending"])
  })
})
