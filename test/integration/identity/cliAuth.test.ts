import * as fs from "node:fs"
import * as path from "node:path"
import { parse } from "smol-toml"
import { afterEach, describe, expect, it } from "vitest"
import { runCli, waitFor } from "../../support/daemon.js"
import { PASSWORD } from "../../support/identity.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"

const temps: Array<() => void> = []
afterEach(() => temps.splice(0).forEach((c) => c()))

describe("denia auth against a running daemon", () => {
  it("logs in, stores a profile (0600, url + token only) that every client command then uses", async () => {
    const server = makeTempDir()
    const client = makeTempDir()
    temps.push(server.cleanup, client.cleanup)
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const daemonEnv = {
      HOME: server.dir,
      DENIA_CONFIG_FILE: path.join(server.dir, "config.toml"),
      DENIA_DATA_DIR: path.join(server.dir, "data"),
      DENIA_BIND_ADDR: `127.0.0.1:${port}`,
      DENIA_LOG_LEVEL: "debug"
    }
    const daemon = runCli([], daemonEnv)
    try {
      await waitFor(async () => fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false))
      const adminToken = /admin_token = "([0-9a-f]{64})"/.exec(fs.readFileSync(daemonEnv.DENIA_CONFIG_FILE, "utf8"))?.[1] ?? ""
      const boot = await fetch(`${url}/v1/bootstrap`, {
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ username: "root", password: PASSWORD })
      })
      expect(boot.status).toBe(201)

      // The client side has no daemon config: only what `denia auth` stores.
      const clientEnv = { HOME: client.dir, XDG_CONFIG_HOME: path.join(client.dir, "xdg") }
      const bad = runCli(["auth", "--url", url, "--username", "root", "--password-stdin"], clientEnv, "not the password\n")
      expect((await bad.exited).code).toBe(1)
      expect(bad.output()).toMatch(/wrong username or password/)

      const auth = runCli(["auth", "--url", url, "--username", "root", "--password-stdin", "--profile", "home"], clientEnv, `${PASSWORD}\n`)
      expect((await auth.exited).code, auth.output()).toBe(0)
      const file = path.join(client.dir, "xdg", "denia", "client.toml")
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      const stored = parse(fs.readFileSync(file, "utf8")) as { active: string; profiles: Record<string, Record<string, string>> }
      expect(stored.active).toBe("home")
      expect(Object.keys(stored.profiles["home"] ?? {}).sort()).toEqual(["token", "url"])
      const apiToken = stored.profiles["home"]?.["token"] ?? ""
      expect(apiToken).toMatch(/^dnt_/)

      const projects = runCli(["projects", "list", "--json"], clientEnv)
      expect((await projects.exited).code, projects.output()).toBe(0)
      expect(JSON.parse(projects.output()).items.map((p: { name: string }) => p.name)).toContain("default")

      const tokens = runCli(["tokens", "list", "--json"], clientEnv)
      expect((await tokens.exited).code).toBe(0)
      expect(JSON.parse(tokens.output()).items[0].name).toMatch(/^denia-cli@/)

      const users = runCli(["users", "create", "bob", "--json"], clientEnv, `${PASSWORD}\n`)
      expect((await users.exited).code, users.output()).toBe(0)

      const missing = runCli(["projects", "list", "--profile", "nope"], clientEnv)
      expect((await missing.exited).code).toBe(1)
      expect(missing.output()).toMatch(/no profile named "nope"/)

      // Nothing secret reached the daemon's logs (debug level).
      const logs = daemon.output()
      expect(logs).toContain("listening")
      for (const secret of [PASSWORD, "not the password", apiToken, adminToken]) expect(logs).not.toContain(secret)
    } finally {
      daemon.child.kill("SIGTERM")
      await daemon.exited
    }
  })
})
