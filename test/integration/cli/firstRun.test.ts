import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runCli, waitFor } from "../../support/daemon.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"
import { type CliFixture, jsonOf, runBounded, startCliFixture } from "./support.js"

let f: CliFixture
beforeAll(async () => {
  f = await startCliFixture()
})
afterAll(async () => {
  await f?.stop()
})

describe("denia auth without a terminal", () => {
  it("fails at once with a hint to --password-stdin instead of hanging or exiting 0", async () => {
    // stdin is /dev/null: not a terminal. A run still going after 20 s is killed and fails the test (code null).
    const noPassword = await runBounded(["auth", "--url", f.d.url, "--username", "root"], f.env, undefined, 20_000)
    expect(noPassword.code).toBe(1)
    expect(noPassword.out.trim()).toMatch(
      /^denia: stdin is not a terminal, so denia auth cannot prompt: pass --username U and --password-stdin/
    )
    const noUser = await runBounded(["auth", "--url", f.d.url, "--password-stdin"], f.env, "pw\n", 20_000)
    expect(noUser.code).toBe(1)
    expect(noUser.out).toContain("--password-stdin")
  })
})

describe("help", () => {
  it("is at most 100 columns, has no colour codes when piped and no type filler", async () => {
    const commands = [
      [],
      ["services"],
      ["services", "create"],
      ["env", "set"],
      ["secrets", "set"],
      ["domains", "add"],
      ["logs"],
      ["deploy"],
      ["auth"],
      ["daemon"]
    ]
    const runs = await Promise.all(commands.map((c) => f.cli([...c, "--help"])))
    runs.forEach((r, i) => {
      expect(r.code, `${commands[i]?.join(" ")}: ${r.out}`).toBe(0)
      expect(r.out).not.toContain("\u001b")
      expect(r.out).not.toMatch(/A user-defined piece of text|This setting is optional\./)
      for (const line of r.out.split("\n")) expect(line.length, line).toBeLessThanOrEqual(100)
    })
    expect(runs[0]?.out).toMatch(/- daemon\n\s+Run the daemon in the foreground/)
    expect(runs[0]?.out).toMatch(/- env set/)
  })

  it("--version prints the package version", async () => {
    const r = await f.cli(["--version"])
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../../package.json"), "utf8")) as { version: string }
    expect(r).toEqual({ code: 0, out: `${pkg.version}\n` })
  })
})

describe("denia daemon", () => {
  it("is the daemon, like bare denia", async () => {
    const t = makeTempDir()
    const port = await freePort()
    const env = {
      HOME: t.dir,
      DENIA_CONFIG_FILE: path.join(t.dir, "config.toml"),
      DENIA_DATA_DIR: path.join(t.dir, "data"),
      DENIA_BIND_ADDR: `127.0.0.1:${port}`,
      DENIA_HTTP_PORT: String(await freePort()),
      DENIA_HTTPS_PORT: String(await freePort())
    }
    const daemon = runCli(["daemon"], env)
    try {
      await waitFor(async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok).catch(() => false), 30_000)
      daemon.child.kill("SIGTERM")
      expect((await daemon.exited).code).toBe(0)
      expect(daemon.output()).toMatch(/Denia API listening on http:\/\/127\.0\.0\.1:\d+/)
    } finally {
      daemon.child.kill("SIGKILL")
      t.cleanup()
    }
    const withOptions = await runBounded(["daemon", "--log-level", "debug"], env)
    expect(withOptions.code).toBe(1)
    expect(withOptions.out).toMatch(/the daemon takes no options/)
  })
})

describe("denia doctor", () => {
  it("recognises its own running daemon on the API and HTTP ports instead of warning", async () => {
    const r = await f.cli(["doctor", "--json"], undefined, 60_000)
    const checks = jsonOf<{ checks: Array<{ name: string; level: string; detail: string }> }>(r).checks
    const byName = (n: string) => checks.find((c) => c.name === n)
    expect(byName("api port")).toMatchObject({ level: "ok", detail: expect.stringMatching(/served by the running Denia daemon$/) })
    expect(byName("http port")).toMatchObject({ level: "ok", detail: expect.stringMatching(/served by the running Denia daemon$/) })
    // builds deploy from their own layer trees where the rootfs can be mounted idmapped (ADR 0822)
    if (process.getuid?.() === 0) expect(byName("idmapped rootfs")).toMatchObject({ level: "ok", detail: expect.stringMatching(/^yes/) })
    else expect(byName("idmapped rootfs")).toMatchObject({ level: "warn", detail: expect.stringMatching(/^not running as root/) })
  })
})

describe("denia doctor before the first start", () => {
  it("checks the host against the config the first start will write, and writes no config file", async () => {
    const temp = makeTempDir()
    try {
      const env = {
        HOME: temp.dir,
        XDG_CONFIG_HOME: path.join(temp.dir, "xdg"),
        DENIA_DATA_DIR: path.join(temp.dir, "data"),
        DENIA_BIND_ADDR: `127.0.0.1:${await freePort()}`,
        DENIA_HTTP_PORT: String(await freePort()),
        DENIA_HTTPS_PORT: String(await freePort()),
        // this test daemon's network is not there: only the config line matters here
        DENIA_NETWORK_MODE: "loopback"
      }
      const r = await runBounded(["doctor", "--json"], env, undefined, 60_000)
      const checks = jsonOf<{ checks: Array<{ name: string; level: string; detail: string }> }>(r).checks
      const file = path.join(temp.dir, "xdg", "denia", "config.toml")
      expect(checks.find((c) => c.name === "config")).toEqual({
        name: "config",
        level: "ok",
        detail: `no ${file} yet: the daemon writes it, with a fresh admin token, on its first start; ` +
          "the checks below use the values it will have"
      })
      // the checks that need the config ran, with its values
      expect(checks.find((c) => c.name === "data dir")?.detail).toContain(path.join(temp.dir, "data"))
      expect(checks.find((c) => c.name === "api port")?.detail).toBe(`${env.DENIA_BIND_ADDR} is free`)
      expect(fs.existsSync(file)).toBe(false)
      expect(r.out).not.toMatch(/[0-9a-f]{64}/)
      // a bad value still fails, naming the key
      const bad = await runBounded(["doctor", "--json"], { ...env, DENIA_HTTP_PORT: "nope" }, undefined, 60_000)
      expect(bad.code).toBe(1)
      // stdout's JSON, then stderr's summary line
      const badJson = bad.out.slice(0, bad.out.lastIndexOf("}") + 1)
      const badConfig = (JSON.parse(badJson) as { checks: Array<{ name: string; level: string; detail: string }> }).checks.find((
        c
      ) => c.name === "config")
      expect(badConfig).toMatchObject({ level: "fail", detail: expect.stringMatching(/^config: http_port: /) })
    } finally {
      temp.cleanup()
    }
  })
})

describe("denia logs -f --tail N", () => {
  it("prints exactly the last N lines, then follows", async () => {
    const created = await f.cli(["services", "create", "tail", "--image", "nginx:1.27", "--json"])
    const id = jsonOf<{ id: string }>(created).id
    const file = path.join(f.d.dataDir, "logs", "services", `s${id.replace(/-/g, "").slice(-12)}.log`)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, Array.from({ length: 50 }, (_, i) => `line ${i + 1}\n`).join(""))
    const run = runCli(["logs", "tail", "-f", "--tail", "3"], f.env)
    try {
      await waitFor(() => run.output().includes("line 50\n"), 30_000)
      fs.appendFileSync(file, "line 51\n")
      await waitFor(() => run.output().includes("line 51\n"), 30_000)
      expect(run.output()).toBe("line 48\nline 49\nline 50\nline 51\n")
    } finally {
      run.child.kill("SIGTERM")
      await run.exited
    }
  })
})
