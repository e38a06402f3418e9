import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CliFixture, jsonOf, startCliFixture } from "./support.js"

let f: CliFixture
let serviceId: string

beforeAll(async () => {
  f = await startCliFixture()
  const created = await f.cli(["services", "create", "web", "--image", "nginx:1.27", "--json"])
  expect(created.code, created.out).toBe(0)
  serviceId = jsonOf<{ id: string }>(created).id
})
afterAll(async () => {
  await f?.stop()
})

const service = async () => (await (await f.d.request(`/v1/services/${serviceId}`)).json()) as { env: Record<string, string> }
const project = async () =>
  ((await (await f.d.request("/v1/projects")).json()) as { items: Array<{ name: string; sharedEnv: Record<string, string> }> }).items.find((
    p
  ) => p.name === "default")

describe("denia env", () => {
  it("sets, lists and unsets a service's env, saying a redeploy applies it", async () => {
    const set = await f.cli(["env", "set", "web", "A=1", "B=x=y"])
    expect(set.code, set.out).toBe(0)
    expect(set.out).toBe("set A, B on default/web\n→ redeploy to apply: denia deploy web\n")
    expect((await service()).env).toEqual({ A: "1", B: "x=y" })

    const ls = await f.cli(["env", "ls", "web"])
    expect(ls.out.trim().split("\n").map((l) => l.split(/\s{2,}/))).toEqual([
      ["KEY", "VALUE", "FROM"],
      ["A", "1", "service"],
      ["B", "x=y", "service"]
    ])

    const unset = await f.cli(["env", "unset", "web", "A"])
    expect(unset.code, unset.out).toBe(0)
    expect(unset.out).toContain("→ redeploy to apply: denia deploy web")
    expect((await service()).env).toEqual({ B: "x=y" })

    const notSet = await f.cli(["env", "unset", "web", "ZZ"])
    expect(notSet.code).toBe(1)
    expect(notSet.out.trim()).toBe("denia: ZZ not set on default/web")
  })

  it("with --project alone works on the project's shared env, which service ls shows as inherited", async () => {
    const set = await f.cli(["env", "set", "--project", "default", "SHARED=yes"])
    expect(set.code, set.out).toBe(0)
    expect((await project())?.sharedEnv).toEqual({ SHARED: "yes" })
    const ls = await f.cli(["env", "ls", "web", "--json"])
    expect(jsonOf<{ sharedEnv: object }>(ls).sharedEnv).toEqual({ SHARED: "yes" })
    const text = await f.cli(["env", "ls", "web"])
    expect(text.out).toMatch(/^SHARED\s+yes\s+project$/m)
    const unset = await f.cli(["env", "unset", "--project", "default", "SHARED"])
    expect(unset.code, unset.out).toBe(0)
    expect((await project())?.sharedEnv).toEqual({})
    const noTarget = await f.cli(["env", "ls"])
    expect(noTarget.code).toBe(1)
  })

  it("rejects a pair without '='", async () => {
    const r = await f.cli(["env", "set", "web", "NOVALUE"])
    expect(r.code).toBe(1)
    expect(r.out.trim()).toBe("denia: \"NOVALUE\" must be KEY=VALUE")
  })
})

describe("denia secrets", () => {
  it("sets from stdin (never echoing it), lists names and removes", async () => {
    const value = "s3cr3t-value-123"
    const set = await f.cli(["secrets", "set", "web", "DB_PASSWORD"], `${value}\n`)
    expect(set.code, set.out).toBe(0)
    expect(set.out).toBe("set secret DB_PASSWORD on default/web\n→ redeploy to apply: denia deploy web\n")
    const ls = await f.cli(["secrets", "ls", "web", "--json"])
    expect(ls.out).not.toContain(value)
    expect(jsonOf<{ items: Array<{ name: string }> }>(ls).items.map((s) => s.name)).toEqual(["DB_PASSWORD"])
    const rm = await f.cli(["secrets", "rm", "web", "DB_PASSWORD"])
    expect(rm.code, rm.out).toBe(0)
    const after = await f.cli(["secrets", "ls", "web", "--json"])
    expect(jsonOf<{ items: Array<unknown> }>(after).items).toEqual([])
    const empty = await f.cli(["secrets", "set", "web", "EMPTY"], "")
    expect(empty.code).toBe(1)
  })
})

describe("denia domains", () => {
  it("adds (with the next step), lists, fails verification in one line, removes by hostname", async () => {
    const add = await f.cli(["domains", "add", "web", "App.Example.com"])
    expect(add.code, add.out).toBe(0)
    expect(add.out).toContain("attached app.example.com to default/web (pending verification)")
    expect(add.out).toContain("→ then: denia domains verify web app.example.com")
    const ls = await f.cli(["domains", "ls", "web", "--json"])
    const items = jsonOf<{ items: Array<{ hostname: string; status: string }> }>(ls).items
    expect(items).toMatchObject([{ hostname: "app.example.com", status: "pending" }])
    const verify = await f.cli(["domains", "verify", "web", "app.example.com"], undefined, 60_000)
    expect(verify.code).toBe(1)
    expect(verify.out.trim().split("\n")).toHaveLength(1)
    const rm = await f.cli(["domains", "rm", "web", "app.example.com"])
    expect(rm.code, rm.out).toBe(0)
    const after = await f.cli(["domains", "ls", "web", "--json"])
    expect(jsonOf<{ items: Array<unknown> }>(after).items).toEqual([])
    const unknown = await f.cli(["domains", "rm", "web", "nope.example.com"])
    expect(unknown.out.trim()).toBe("denia: no domain \"nope.example.com\" on this service (see: denia domains ls)")
  })
})
