import * as fs from "node:fs"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cliEntry, runCli, waitFor } from "../../support/daemon.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"

const temps: Array<() => void> = []
afterEach(() => temps.splice(0).forEach((c) => c()))

const env = (dir: string, port: number): Record<string, string> => ({
  HOME: dir,
  DENIA_CONFIG_FILE: path.join(dir, "config", "config.toml"),
  DENIA_DATA_DIR: path.join(dir, "data"),
  DENIA_BIND_ADDR: `127.0.0.1:${port}`
})

describe("the daemon process", () => {
  it("is built", () => {
    expect(fs.existsSync(cliEntry), "run `npm run build` first").toBe(true)
  })

  it("first boot writes the config, serves /healthz, answers the CLI, and stops cleanly on SIGTERM", async () => {
    const t = makeTempDir()
    temps.push(t.cleanup)
    const port = await freePort()
    const e = env(t.dir, port)
    const daemon = runCli([], e)
    try {
      await waitFor(async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok
        } catch {
          return false
        }
      }, 30_000)
      const configFile = e["DENIA_CONFIG_FILE"] ?? ""
      expect(fs.statSync(configFile).mode & 0o777).toBe(0o600)
      expect(fs.existsSync(path.join(t.dir, "data", "denia.sqlite"))).toBe(true)
      await waitFor(() => daemon.output().includes("listening"))
      const out = daemon.output()
      expect(out.match(/Denia API listening on http:\/\/127\.0\.0\.1:\d+/g)).toHaveLength(1)
      expect(out).toContain(configFile)
      const token = /admin_token = "([0-9a-f]{64})"/.exec(fs.readFileSync(configFile, "utf8"))?.[1] ?? ""
      expect(out).not.toContain(token)

      // the CLI on the host uses the local config when no --url/--token is given
      const list = runCli(["projects", "list", "--json"], e)
      expect((await list.exited).code).toBe(0)
      expect(JSON.parse(list.output())).toMatchObject({ items: [{ name: "default" }] })

      const create = runCli([
        "services",
        "create",
        "web",
        "--project",
        JSON.parse(list.output()).items[0].id,
        "--image",
        "busybox",
        "--port",
        "8080"
      ], e)
      expect((await create.exited).code).toBe(0)
      const bad = runCli([
        "services",
        "create",
        "web2",
        "--project",
        "nope",
        "--port",
        "8080",
        "--url",
        `http://127.0.0.1:${port}`,
        "--token",
        token
      ], e)
      expect((await bad.exited).code).toBe(1)
      expect(bad.output().trim()).toBe("denia: no project named \"nope\" (see: denia projects list)")

      const started = Date.now()
      daemon.child.kill("SIGTERM")
      const exit = await daemon.exited
      expect(exit.code).toBe(0)
      expect(Date.now() - started).toBeLessThan(25_000)
    } finally {
      daemon.child.kill("SIGKILL")
    }
  })

  it("exits 1 with one line naming the key on a bad config, writing nothing", async () => {
    const t = makeTempDir()
    temps.push(t.cleanup)
    const e = { ...env(t.dir, 7999), DENIA_HTTP_PORT: "eighty" }
    const run = runCli([], e)
    const exit = await run.exited
    expect(exit.code).toBe(1)
    const lines = run.output().trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/http_port.*must be an integer/)
    expect(fs.existsSync(path.join(t.dir, "data"))).toBe(false)
  })

  it("`denia config` prints the effective config with secrets redacted", async () => {
    const t = makeTempDir()
    temps.push(t.cleanup)
    const e = env(t.dir, 7998)
    fs.mkdirSync(path.join(t.dir, "config"))
    fs.writeFileSync(e["DENIA_CONFIG_FILE"] ?? "", `admin_token = "${"c".repeat(64)}"\nhttp_port = 8080\n`)
    const run = runCli(["config"], e)
    expect((await run.exited).code).toBe(0)
    expect(run.output()).toContain("http_port = 8080")
    expect(run.output()).toContain("admin_token = \"<redacted>\"")
    expect(run.output()).not.toContain("c".repeat(64))
  })

  it("`denia --version` prints the version", async () => {
    const run = runCli(["--version"], {})
    expect((await run.exited).code).toBe(0)
    expect(run.output()).toMatch(/\d+\.\d+\.\d+/)
  })

  it("`denia doctor` prints one verdict per check with fixes", async () => {
    const t = makeTempDir()
    temps.push(t.cleanup)
    const e = env(t.dir, await freePort())
    fs.mkdirSync(path.join(t.dir, "config"))
    fs.writeFileSync(
      e["DENIA_CONFIG_FILE"] ?? "",
      `admin_token = "${"c".repeat(64)}"\nhttp_port = ${await freePort()}\nhttps_port = ${await freePort()}\n`
    )
    const run = runCli(["doctor", "--json"], e)
    await run.exited
    const report = JSON.parse(run.output()) as { checks: Array<{ name: string; level: string; fix?: string }> }
    const names = report.checks.map((c) => c.name)
    for (
      const n of [
        "kernel",
        "user namespaces",
        "overlayfs",
        "config",
        "cgroup v2 limits",
        "api port",
        "data dir",
        "runtime helper",
        "buildah"
      ]
    ) {
      expect(names).toContain(n)
    }
    for (const c of report.checks) if (c.level !== "ok") expect(c.fix, c.name).toBeTruthy()
  })
})
