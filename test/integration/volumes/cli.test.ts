/**
 * `denia volumes restore|ls|backup|rm` against an in-process daemon: the
 * archive round-trips through the CLI's streaming transfers, errors come
 * back as one line.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, runCli, startTestDaemon, type TestDaemon } from "../../support/daemon.js"
import { makeTempDir } from "../../support/tempDir.js"

let d: TestDaemon
const temp = makeTempDir("denia-volcli-")
beforeAll(async () => {
  d = await startTestDaemon()
  const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string }> }
  const r = await d.request("/v1/services", {
    method: "POST",
    json: {
      projectId: projects.items[0]?.id,
      name: "pg",
      source: { type: "image", image: "busybox:1.36" },
      port: 5432,
      volumes: [{ name: "data", mountPath: "/var/lib/postgresql/data" }]
    }
  })
  expect(r.status).toBe(201)
})
afterAll(async () => {
  await d.stop()
  temp.cleanup()
})

const cli = async (...args: Array<string>) => {
  const run = runCli(args, { DENIA_URL: d.url, DENIA_TOKEN: ADMIN_TOKEN, HOME: temp.dir })
  const { code } = await run.exited
  return { code, out: run.output() }
}

describe("denia volumes", () => {
  it("restore, ls, backup, rm", async () => {
    const src = path.join(temp.dir, "src")
    fs.mkdirSync(path.join(src, "base"), { recursive: true })
    fs.writeFileSync(path.join(src, "PG_VERSION"), "15\n")
    fs.writeFileSync(path.join(src, "base", "table"), "x".repeat(100_000))
    const archive = path.join(temp.dir, "in.tar")
    execFileSync("tar", ["-cf", archive, "-C", src, "."])

    const restored = await cli("volumes", "restore", "pg", "data", archive)
    expect(restored.out).toMatch(/restored 4 entries into volume data of default\/pg/)
    expect(restored.code).toBe(0)

    const ls = await cli("volumes", "ls", "pg", "--json")
    expect(ls.code).toBe(0)
    const listed = JSON.parse(ls.out) as { items: Array<{ name: string; mountPath: string; created: boolean; bytes: number }> }
    expect(listed.items[0]).toMatchObject({ name: "data", mountPath: "/var/lib/postgresql/data", created: true })
    expect(listed.items[0]?.bytes).toBeGreaterThanOrEqual(100_003)

    const out = path.join(temp.dir, "backup.tar.zst")
    const backup = await cli("volumes", "backup", "pg", "data", "-o", out, "--zstd")
    expect(backup.code).toBe(0)
    expect(backup.out).toMatch(/wrote .*backup\.tar\.zst .*stopped snapshot/)
    const names = execFileSync("tar", ["--zstd", "-tf", out]).toString().split("\n").filter((l) => l !== "").sort()
    expect(names).toEqual(["./", "./PG_VERSION", "./base/", "./base/table"])

    const missing = await cli("volumes", "backup", "pg", "nope", "-o", path.join(temp.dir, "x.tar"))
    expect(missing.code).toBe(1)
    expect(missing.out).toMatch(/volume nope not found \(NOT_FOUND\)/)
    expect(fs.existsSync(path.join(temp.dir, "x.tar"))).toBe(false)

    const rm = await cli("volumes", "rm", "pg", "data")
    expect(rm.code).toBe(0)
    const after = JSON.parse((await cli("volumes", "ls", "pg", "--json")).out) as { items: Array<{ created: boolean }> }
    expect(after.items[0]?.created).toBe(false)
  })
})
