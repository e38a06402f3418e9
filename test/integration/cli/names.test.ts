import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createUser, login } from "../../support/identity.js"
import { type CliFixture, jsonOf, startCliFixture } from "./support.js"

let f: CliFixture
let projectId: string
let serviceId: string
let otherServiceId: string

beforeAll(async () => {
  f = await startCliFixture()
  const projects = (await (await f.d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
  projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
  const created = await f.cli(["services", "create", "web", "--source", "hosted", "--tag", "v1", "--port", "8080", "--json"])
  expect(created.code, created.out).toBe(0)
  serviceId = jsonOf<{ id: string }>(created).id
  const other = await f.d.request("/v1/projects", { method: "POST", json: { name: "shop" } })
  const shopId = ((await other.json()) as { id: string }).id
  const svc = await f.d.request("/v1/services", {
    method: "POST",
    json: { projectId: shopId, name: "web", port: 80, source: { type: "image", image: "nginx:1.27" } }
  })
  otherServiceId = ((await svc.json()) as { id: string }).id
})
afterAll(async () => {
  await f?.stop()
})

describe("CLI names everywhere", () => {
  it("projects get takes a name or an id", async () => {
    const [byName, byId, missing] = await Promise.all([
      f.cli(["projects", "get", "default", "--json"]),
      f.cli(["projects", "get", projectId, "--json"]),
      f.cli(["projects", "get", "nope"])
    ])
    expect(byName.code, byName.out).toBe(0)
    expect(jsonOf<{ id: string }>(byName).id).toBe(projectId)
    expect(jsonOf<{ name: string }>(byId).name).toBe("default")
    expect(missing.code).toBe(1)
    expect(missing.out.trim()).toBe("denia: no project named \"nope\" (see: denia projects list)")
  })

  it("services get takes name, project/name, id and --project by name or id", async () => {
    const runs = await Promise.all([
      f.cli(["services", "get", "web", "--json"]),
      f.cli(["services", "get", "default/web", "--json"]),
      f.cli(["services", "get", serviceId, "--json"]),
      f.cli(["services", "get", "web", "--project", "default", "--json"]),
      f.cli(["services", "get", "web", "--project", projectId, "--json"]),
      f.cli(["services", "get", "shop/web", "--json"]),
      f.cli(["services", "get", "web", "--project", "shop", "--json"])
    ])
    for (const r of runs) expect(r.code, r.out).toBe(0)
    const ids = runs.map((r) => jsonOf<{ id: string }>(r).id)
    expect(ids.slice(0, 5)).toEqual(Array(5).fill(serviceId))
    expect(ids.slice(5)).toEqual([otherServiceId, otherServiceId])
  })

  it("every service command resolves names the same way and says so in one line when the name is unknown", async () => {
    const commands: Array<ReadonlyArray<string>> = [
      ["services", "get"],
      ["services", "delete"],
      ["deploy"],
      ["deployments"],
      ["logs"],
      ["stop"],
      ["start"],
      ["restart"],
      ["rollback"],
      ["env", "ls"],
      ["secrets", "ls"],
      ["domains", "ls"]
    ]
    const runs = await Promise.all(commands.map((c) => f.cli([...c, "default/nope"])))
    runs.forEach((r, i) => {
      expect(r.code, `${commands[i]?.join(" ")}: ${r.out}`).toBe(1)
      expect(r.out.trim()).toBe("denia: no service named \"nope\" in default (see: denia services list --project default)")
    })
    const wrongProject = await f.cli(["deployments", "nowhere/web"])
    expect(wrongProject.out.trim()).toBe("denia: no project named \"nowhere\" (see: denia projects list)")
  })

  it("read commands work by name", async () => {
    const [deployments, logs, env, secrets, domains] = await Promise.all([
      f.cli(["deployments", "web", "--json"]),
      f.cli(["logs", "web", "--json"]),
      f.cli(["env", "ls", "default/web", "--json"]),
      f.cli(["secrets", "ls", "web", "--json"]),
      f.cli(["domains", "ls", serviceId, "--json"])
    ])
    for (const r of [deployments, logs, env, secrets, domains]) expect(r.code, r.out).toBe(0)
    expect(jsonOf<{ items: Array<unknown> }>(deployments).items).toEqual([])
    expect(jsonOf<{ lines: Array<string> }>(logs).lines).toEqual([])
    expect(jsonOf<{ env: object }>(env).env).toEqual({})
  })

  it("users, tokens and members take names", async () => {
    await createUser(f.d, "carol")
    const add = await f.cli(["members", "add", "--project", "default", "--user", "carol", "--role", "viewer", "--json"])
    expect(add.code, add.out).toBe(0)
    const members = await f.cli(["members", "list", "--project", "default", "--json"])
    expect(jsonOf<{ items: Array<{ role: string }> }>(members).items.map((m) => m.role)).toContain("viewer")
    const removed = await f.cli(["members", "remove", "--project", projectId, "--user", "carol"])
    expect(removed.code, removed.out).toBe(0)
    // API tokens belong to users: carol's session mints one and revokes it by name
    const session = (await login(f.d, "carol")).token
    const as = ["--url", f.d.url, "--token", session]
    const minted = await f.cli(["tokens", "create", "ci-token", "--json", ...as])
    expect(minted.code, minted.out).toBe(0)
    const revoked = await f.cli(["tokens", "revoke", "ci-token", ...as])
    expect(revoked.code, revoked.out).toBe(0)
    const listed = await f.cli(["tokens", "list", "--json", ...as])
    expect(jsonOf<{ items: Array<{ name: string }> }>(listed).items.map((t) => t.name)).not.toContain("ci-token")
    const deleted = await f.cli(["users", "delete", "carol"])
    expect(deleted.code, deleted.out).toBe(0)
    const gone = await f.cli(["users", "delete", "carol"])
    expect(gone.out.trim()).toBe("denia: no user named \"carol\" (see: denia users list)")
  })
})

describe("services create", () => {
  it("merges --spec with flags (flags win) and names what is missing, in one line", async () => {
    const spec = JSON.stringify({ port: 9000, source: { type: "image", image: "busybox:1" }, env: { A: "1" } })
    const merged = await f.cli(["services", "create", "api", "--spec", spec, "--image", "nginx:1.27", "--json"])
    expect(merged.code, merged.out).toBe(0)
    expect(jsonOf<{ port: number; source: { image: string }; env: object }>(merged)).toMatchObject({
      port: 9000,
      source: { image: "nginx:1.27" },
      env: { A: "1" }
    })

    const missing = await f.cli(["services", "create", "nosource"])
    expect(missing.code).toBe(1)
    expect(missing.out.trim()).toBe(
      "denia: source is missing: give --image REF, or --source hosted [--tag TAG], or --git URL, or a \"source\" in --spec"
    )

    const bad = await f.cli(["services", "create", "Bad_Name", "--image", "nginx"])
    expect(bad.code).toBe(1)
    expect(bad.out.trim().split("\n")).toHaveLength(1)
    expect(bad.out).toMatch(/^denia: invalid service: name/)

    const wrongProject = await f.cli(["services", "create", "x", "--project", "nope", "--image", "nginx"])
    expect(wrongProject.out.trim()).toBe("denia: no project named \"nope\" (see: denia projects list)")
  })
})

describe("lists show state", () => {
  it("services list: status, URL and image columns; --json keeps the API's shape", async () => {
    const text = await f.cli(["services", "list", "--project", "default"])
    expect(text.code, text.out).toBe(0)
    const [header, ...rows] = text.out.trim().split("\n")
    expect(header?.split(/\s{2,}/)).toEqual(["NAME", "STATUS", "URL", "IMAGE", "ID"])
    const web = rows.find((r) => r.startsWith("default/web "))
    expect(web).toBeDefined()
    const api = (await (await f.d.request(`/v1/services/${serviceId}`)).json()) as { status?: { state: string } }
    const state = api.status === undefined ? "-" : api.status.state === "never-deployed" ? "never deployed" : api.status.state
    expect(web?.split(/\s{2,}/)).toEqual([
      "default/web",
      state,
      `http://web.default.localhost:${f.d.config.values.httpPort}`,
      "hosted default/web:v1",
      serviceId
    ])

    const json = await f.cli(["services", "list", "--json"])
    const items = jsonOf<{ items: Array<{ id: string }> }>(json).items
    expect(items.map((s) => s.id)).toEqual(expect.arrayContaining([serviceId, otherServiceId]))
  })

  it("deployments: live marker, trigger and digest columns", async () => {
    const r = await f.cli(["deployments", "web"])
    expect(r.code, r.out).toBe(0)
    expect(r.out.trim().split(/\s{2,}/)).toEqual([
      "LIVE",
      "ID",
      "STATUS",
      "TRIGGER",
      "DIGEST",
      "COMMIT",
      "IMAGE",
      "RESTARTS",
      "CREATED",
      "ERROR"
    ])
  })
})
