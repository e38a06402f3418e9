/**
 * `denia init`, `denia create` and `denia push` run as the built CLI against a test daemon: a Git working
 * tree with an ignored `node_modules/` and a `.dockerignore`d secret is packed, uploaded, built FROM the
 * hosted Debian base and deployed; neither ignored path reaches the server (the stored upload is read back).
 * To this daemon on loopback the context goes as a plain tar, with `DENIA_PUSH_COMPRESS=1` compressed
 * (ADR 0820); both store the same entries.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as tar from "tar-stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ZstdDecompressStream } from "../../../src/oci/decompress.js"
import { cliEntry } from "../../support/daemon.js"
import { getViaSocket, replicaSockets } from "../../support/deployments.js"
import { pushPythonBase, pythonAppFiles } from "../../support/uploads.js"
import { type CliFixture, startCliFixture } from "../cli/support.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("denia push tests skipped: they need root (buildah, namespaces, overlay mounts)")

/** Entry names of a stored upload (zstd or plain tar). */
const entriesOf = async (file: string): Promise<Array<string>> => {
  const extract = tar.extract()
  if (file.endsWith(".zst")) fs.createReadStream(file).pipe(new ZstdDecompressStream()).pipe(extract)
  else fs.createReadStream(file).pipe(extract)
  const names: Array<string> = []
  for await (const entry of extract) {
    names.push(entry.header.name)
    entry.resume()
  }
  return names.sort()
}

describe.runIf(privileged)("denia push (privileged)", () => {
  let f: CliFixture
  let work: string

  beforeAll(async () => {
    f = await startCliFixture()
    const created = await f.cli(["services", "create", "base", "--source", "hosted", "--tag", "py"])
    expect(created.code, created.out).toBe(0)
    await pushPythonBase(f.d)
    work = fs.mkdtempSync(path.join(os.tmpdir(), "denia-push-"))
    for (const [rel, content] of Object.entries(pythonAppFiles(f.d.config.values.bindAddr, "hello from push"))) {
      fs.mkdirSync(path.dirname(path.join(work, rel)), { recursive: true })
      fs.writeFileSync(path.join(work, rel), content)
    }
    fs.writeFileSync(path.join(work, ".gitignore"), "node_modules/\n")
    fs.writeFileSync(path.join(work, ".dockerignore"), "secret.txt\n")
    fs.mkdirSync(path.join(work, "node_modules", "left-pad"), { recursive: true })
    fs.writeFileSync(path.join(work, "node_modules", "left-pad", "index.js"), "module.exports = 1\n")
    fs.writeFileSync(path.join(work, "secret.txt"), "do-not-upload\n")
    execFileSync("git", ["init", "-q"], { cwd: work })
    execFileSync("git", ["add", "Dockerfile", ".gitignore"], { cwd: work })
    execFileSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init"], { cwd: work })
  }, 600_000)
  afterAll(async () => {
    await f?.stop()
    if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
  })

  /** The built CLI run in the working tree (it reads `.denia` from its working directory). */
  const inWork = (args: ReadonlyArray<string>, timeoutMs = 30_000, env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [cliEntry, ...args], {
        cwd: work,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...f.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      child.stdout.on("data", (d: Buffer) => (out += d.toString()))
      child.stderr.on("data", (d: Buffer) => (out += d.toString()))
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      child.on("exit", (code, signal) => {
        clearTimeout(timer)
        resolve({ code: signal === null ? code : null, out })
      })
    })

  it("init writes the manifest, create makes the upload service, push builds and deploys the working tree", async () => {
    const init = await inWork(["init", "--project", "default", "--service", "pyapp", "--port", "8080", "--health-path", "/"])
    expect(init.code, init.out).toBe(0)
    const manifest = fs.readFileSync(path.join(work, ".denia"), "utf8")
    expect(manifest).toContain("service = \"pyapp\"")
    expect(manifest).toContain("[create]")
    const again = await inWork(["init", "--service", "other"])
    expect(again.code).not.toBe(0)
    expect(again.out).toContain("exists already")

    const created = await inWork(["create"])
    expect(created.code, created.out).toBe(0)
    const service = JSON.parse((await f.cli(["services", "get", "pyapp", "--json"])).out) as { id: string; source: { type: string } }
    expect(service.source.type).toBe("upload")

    const pushed = await inWork(["push"], 600_000)
    expect(pushed.code, pushed.out).toBe(0)
    expect(pushed.out).toMatch(/packing 6 files/)
    expect(pushed.out).toMatch(/STEP 1\/\d+: FROM /)
    expect(pushed.out).toMatch(/healthy — http:\/\/pyapp\.default\.localhost/)
    const live = JSON.parse((await f.cli(["services", "get", "pyapp", "--json"])).out) as { promotedDeploymentId: string }
    const bodies = await Promise.all(replicaSockets(f.d.dataDir, live.promotedDeploymentId).map((s) => getViaSocket(s)))
    expect(bodies.map((b) => b.body.trim())).toEqual(["hello from push"])

    // what reached the server: the stored upload holds neither node_modules/ nor the .dockerignored secret
    const uploads = path.join(f.d.dataDir, "uploads")
    const stored = fs.readdirSync(uploads).filter((n) => !n.endsWith(".json"))
    // a daemon on this host: the plain tar
    expect(stored).toEqual([expect.stringMatching(/^[0-9a-f-]{36}\.tar$/)])
    const names = await entriesOf(path.join(uploads, stored[0] ?? ""))
    expect(names).toEqual([".denia", ".dockerignore", ".gitignore", "Dockerfile", "requirements.txt", "www/index.html"])
    expect(names.some((n) => n.startsWith("node_modules"))).toBe(false)
    expect(names).not.toContain("secret.txt")

    // compressed on request: the same entries, stored as zstd, and deployed
    const compressed = await inWork(["push"], 600_000, { DENIA_PUSH_COMPRESS: "1" })
    expect(compressed.code, compressed.out).toBe(0)
    const zst = fs.readdirSync(uploads).filter((n) => n.endsWith(".tar.zst"))
    expect(zst).toHaveLength(1)
    expect(await entriesOf(path.join(uploads, zst[0] ?? ""))).toEqual(names)
  }, 900_000)
})
