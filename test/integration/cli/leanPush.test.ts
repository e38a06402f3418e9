/**
 * `denia push` on its lean path (ADR 0811, 0812), the built CLI against a test daemon: in the
 * common case (also following the log, also creating the service with `--create`) the CLI bundle is never loaded (a module hook records what the process loads), the
 * upload honours the ignore files and queues a deployment, `--json` prints what push.ts prints; a
 * refusal after the upload started is reported as `upload refused: <server message>`; every case the
 * lean path is not sure of is the full CLI's, with the full CLI's messages (and `--create`).
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN_TOKEN, cliEntry } from "../../support/daemon.js"
import { type CliFixture, startCliFixture } from "./support.js"

const hasTools = (() => {
  try {
    return execFileSync("tar", ["--version"], { encoding: "utf8" }).includes("GNU tar") &&
      execFileSync("zstd", ["--version"], { encoding: "utf8" }).length > 0 &&
      execFileSync("git", ["--version"], { encoding: "utf8" }).length > 0
  } catch {
    return false
  }
})()
if (!hasTools) console.warn("lean push tests skipped: they need GNU tar, zstd and git")

describe.runIf(hasTools)("denia push, lean path", () => {
  let f: CliFixture
  let work: string
  let hooks: string

  beforeAll(async () => {
    f = await startCliFixture()
    work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-lean-push-"))
    hooks = fs.mkdtempSync(path.join(os.tmpdir(), "denia-lean-hooks-"))
    // every module the CLI process loads, one URL a line, into $DENIA_TEST_MODULE_LOG
    fs.writeFileSync(
      path.join(hooks, "hooks.mjs"),
      "import * as fs from 'node:fs'\nexport async function load(url, context, next) {\n" +
        "  if (process.env.DENIA_TEST_MODULE_LOG) fs.appendFileSync(process.env.DENIA_TEST_MODULE_LOG, url + '\\n')\n" +
        "  return next(url, context)\n}\n"
    )
    fs.writeFileSync(path.join(hooks, "register.mjs"), "import { register } from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n")
    fs.writeFileSync(path.join(work, "Dockerfile"), "FROM scratch\nCOPY app.txt /\n")
    fs.writeFileSync(path.join(work, "app.txt"), "hello\n")
    fs.writeFileSync(path.join(work, ".gitignore"), "build/\n")
    fs.writeFileSync(path.join(work, ".dockerignore"), "secret.txt\n")
    fs.mkdirSync(path.join(work, "build"))
    fs.writeFileSync(path.join(work, "build", "out.bin"), "ignored by git\n")
    fs.writeFileSync(path.join(work, "secret.txt"), "ignored by docker\n")
    execFileSync("git", ["init", "-q"], { cwd: work })
    const init = await inWork(["init", "--project", "default", "--service", "web", "--port", "8080"])
    expect(init.code, init.stderr).toBe(0)
    const created = await inWork(["create"])
    expect(created.code, created.stderr).toBe(0)
  }, 120_000)
  afterAll(async () => {
    await f?.stop()
    for (const dir of [work, hooks]) if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  interface Run {
    readonly code: number | null
    readonly stdout: string
    readonly stderr: string
    /** Files of dist/bundle/ the process loaded. */
    readonly loaded: ReadonlyArray<string>
  }

  /** The built CLI run in the working tree, its loaded modules recorded. */
  const inWork = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    new Promise<Run>((resolve) => {
      const log = path.join(hooks, `modules-${Date.now()}-${Math.random()}.log`)
      const child = spawn(process.execPath, [cliEntry, ...args], {
        cwd: work,
        env: {
          PATH: process.env["PATH"] ?? "/usr/bin:/bin",
          NODE_OPTIONS: `--import=${path.join(hooks, "register.mjs")}`,
          DENIA_TEST_MODULE_LOG: log,
          ...f.env,
          ...env
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
      child.on("exit", (code, signal) => {
        clearTimeout(timer)
        const modules = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n") : []
        const loaded = modules.filter((u) => u.includes("/dist/bundle/")).map((u) => u.replace(/^.*\/dist\/bundle\//, ""))
        resolve({ code: signal === null ? code : null, stdout, stderr, loaded })
      })
    })

  const servicesNamed = async (name: string) => {
    const list = (await (await f.d.request("/v1/services")).json()) as { items: Array<{ id: string; name: string }> }
    return list.items.filter((s) => s.name === name)
  }

  it("uploads without loading the CLI bundle and queues a deployment; the ignore files hold", async () => {
    const r = await inWork(["push", "--no-follow"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.loaded).toContain("push/leanPush.js")
    expect(r.loaded).not.toContain("app.js")
    const m = /^deployment (\S+) queued; follow it: denia logs web -f$/.exec(r.stdout.trim())
    expect(m, r.stdout).not.toBeNull()
    expect(r.stderr).toContain("packing 5 files")
    expect(r.stderr).toMatch(/uploading .* — done/)
    expect(r.stderr + r.stdout).not.toContain(ADMIN_TOKEN)
    const deployment = await f.d.request(`/v1/deployments/${m?.[1] ?? ""}`)
    expect(deployment.status).toBe(200)
    const [web] = await servicesNamed("web")
    const uploads = (await (await f.d.request(`/v1/services/${web?.id ?? ""}/uploads`)).json()) as {
      items: Array<{ entries: number }>
    }
    // .dockerignore, .gitignore, Dockerfile, app.txt (and .denia, which git lists): never build/ or secret.txt
    expect(uploads.items[0]?.entries).toBe(5)
  })

  it("--json prints the upload and the deployment as the full CLI does", async () => {
    const r = await inWork(["push", "--no-follow", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.loaded).not.toContain("app.js")
    const out = JSON.parse(r.stdout) as { upload: Record<string, unknown>; deployment: Record<string, unknown> }
    expect(Object.keys(out.upload).sort()).toEqual(["bytes", "entries", "id"])
    expect(out.upload["entries"]).toBe(5)
    const stored = (await (await f.d.request(`/v1/deployments/${String(out.deployment["id"])}`)).json()) as Record<string, unknown>
    expect(out.deployment["serviceId"]).toBe(stored["serviceId"])
    expect(out.deployment["trigger"]).toBe(stored["trigger"])
    expect(Object.keys(out.deployment).every((k) => k in stored)).toBe(true)
  })

  it("a refusal after the upload started is `upload refused: <the daemon's message>`", async () => {
    fs.symlinkSync("../../../etc/passwd", path.join(work, "escape"))
    try {
      const r = await inWork(["push", "--no-follow"])
      expect(r.code).toBe(1)
      expect(r.loaded).not.toContain("app.js")
      expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^denia: upload refused: .*escape/)
    } finally {
      fs.rmSync(path.join(work, "escape"))
    }
  })

  it("follows the deployment log without the CLI bundle, to its end, and reports a failed deployment as push.ts does", async () => {
    // FROM scratch with no command: the deployment ends failed (at the build without buildah, else at the start)
    const r = await inWork(["push"])
    expect(r.code).toBe(1)
    expect(r.loaded).toContain("push/leanPush.js")
    expect(r.loaded).not.toContain("app.js")
    const m = /^uploaded \S+ \S+; deployment (\S+) queued; following its log$/m.exec(r.stdout)
    expect(m, r.stdout).not.toBeNull()
    const id = m?.[1] ?? ""
    expect(r.stdout).toMatch(/PENDING /)
    expect(r.stdout).toMatch(new RegExp(`^deployment ${id}: failed`, "m"))
    expect(r.stderr.trim().split("\n").at(-1)).toBe("denia: deployment failed; see: denia logs web")
    const stored = (await (await f.d.request(`/v1/deployments/${id}`)).json()) as { status: string }
    expect(stored.status).toBe("failed")
  })

  it("--create creates a missing service from the manifest and pushes to it, still without the CLI bundle", async () => {
    const manifest = fs.readFileSync(path.join(work, ".denia"), "utf8")
    try {
      fs.writeFileSync(path.join(work, ".denia"), manifest.replace("service = \"web\"", "service = \"fresh\""))
      const r = await inWork(["push", "--create", "--no-follow"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.loaded).not.toContain("app.js")
      const [fresh] = await servicesNamed("fresh")
      expect(r.stderr.split("\n")[0]).toBe(`created default/fresh (${fresh?.id ?? "?"})`)
      expect(r.stdout.trim()).toMatch(/^deployment \S+ queued; follow it: denia logs fresh -f$/)
      const full = (await (await f.d.request(`/v1/services/${fresh?.id ?? ""}`)).json()) as {
        source: { type: string; dockerfile: string }
        port: number
      }
      expect(full.source).toMatchObject({ type: "upload", dockerfile: "Dockerfile" })
      expect(full.port).toBe(8080)
      // it exists now: a second --create pushes to it without creating another
      const again = await inWork(["push", "--create", "--no-follow"])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).not.toContain("created")
      expect(await servicesNamed("fresh")).toHaveLength(1)
    } finally {
      fs.writeFileSync(path.join(work, ".denia"), manifest)
    }
  })

  it("leaves what it is not sure of to the full CLI, with its messages (an unknown service without --create)", async () => {
    const manifest = fs.readFileSync(path.join(work, ".denia"), "utf8")
    try {
      fs.writeFileSync(path.join(work, ".denia"), manifest.replace("service = \"web\"", "service = \"other\""))
      const missing = await inWork(["push", "--no-follow"])
      expect(missing.code).toBe(1)
      expect(missing.loaded).toContain("app.js")
      expect(missing.stderr.trim()).toBe("denia: no service default/other; create it with `denia create` or push with --create")
      const created = await inWork(["push", "--no-follow", "--create"])
      expect(created.code, created.stderr).toBe(0)
      expect(created.stderr).toContain("created default/other")
      expect(created.stdout.trim()).toMatch(/^deployment \S+ queued; follow it: denia logs other -f$/)
      expect(await servicesNamed("other")).toHaveLength(1)
      // now that it exists, the lean path takes it
      const again = await inWork(["push", "--no-follow"])
      expect(again.code, again.stderr).toBe(0)
      expect(again.loaded).not.toContain("app.js")
      const unknownProfile = await inWork(["push", "--no-follow", "--profile", "nope"])
      expect(unknownProfile.code).toBe(1)
      expect(unknownProfile.loaded).toContain("app.js")
      expect(unknownProfile.stderr.trim()).toBe("denia: no profile named \"nope\"; run `denia auth --url URL --profile nope`")
      const halfPair = await inWork(["push", "--no-follow", "--url", f.d.url])
      expect(halfPair.code).toBe(1)
      expect(halfPair.stderr.trim()).toBe("denia: --url and --token must be given together")
    } finally {
      fs.writeFileSync(path.join(work, ".denia"), manifest)
    }
  })
})
