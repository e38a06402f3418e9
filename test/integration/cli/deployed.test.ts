import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { pushHttpd } from "../../support/deployImages.js"
import { type CliFixture, jsonOf, startCliFixture } from "./support.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("CLI deployed-service tests skipped: they need root (namespaces, overlay mounts)")

describe.runIf(privileged)("CLI lists of a deployed service (privileged)", () => {
  let f: CliFixture
  beforeAll(async () => {
    f = await startCliFixture()
    const created = await f.cli(["services", "create", "web", "--source", "hosted", "--tag", "v1"])
    expect(created.code, created.out).toBe(0)
    await pushHttpd(f.d.config.values.bindAddr, "default/web", "v1", "hello v1")
  }, 120_000)
  afterAll(async () => {
    await f?.stop()
  })

  it("deploy by name, then deployments marks the live one with trigger and short digest, and services list shows it running", async () => {
    const first = await f.cli(["deploy", "web"], undefined, 90_000)
    expect(first.code, first.out).toBe(0)
    const second = await f.cli(["deploy", "default/web"], undefined, 90_000)
    expect(second.code, second.out).toBe(0)

    const service = (await f.cli(["services", "get", "web", "--json"])).out
    const live = (JSON.parse(service) as { promotedDeploymentId: string }).promotedDeploymentId
    const list = await f.cli(["deployments", "web"])
    expect(list.code, list.out).toBe(0)
    const rows = list.out.trim().split("\n").slice(1)
    expect(rows).toHaveLength(2)
    const marked = rows.filter((r) => r.startsWith("*"))
    expect(marked).toHaveLength(1)
    expect(marked[0]).toContain(live)
    const deployments = jsonOf<{ items: Array<{ id: string; imageDigest?: string; trigger?: string }> }>(
      await f.cli(["deployments", "web", "--json"])
    )
    const liveRow = deployments.items.find((x) => x.id === live)
    const digest = (liveRow?.imageDigest ?? "").replace("sha256:", "").slice(0, 12)
    expect(digest).toMatch(/^[0-9a-f]{12}$/)
    expect(marked[0]?.split(/\s{2,}/)).toEqual(expect.arrayContaining(["*", live, "healthy", liveRow?.trigger ?? "-", digest]))

    const services = await f.cli(["services", "list"])
    const web = services.out.split("\n").find((l) => l.startsWith("default/web "))
    expect(web?.split(/\s{2,}/)[1]).toMatch(/^running( 1\/1)?$/)
  }, 240_000)
})
