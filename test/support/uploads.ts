/** Helpers for upload/build tests: a context tar, a build service, posting a context and the Python app on a hosted Debian base. */
import * as http from "node:http"
import type { DaemonInternals } from "../../src/daemon/layers.js"
import { endOnceHelperHolds } from "./childProcesses.js"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "./daemon.js"
import { buildAndPushDebianImage } from "./debianImages.js"
import { tarOf } from "./tarballs.js"

export interface PostResult {
  readonly status: number
  readonly body: string
}

/** POSTs raw bytes (with a Content-Length, or chunked) to the daemon, tolerating an early close after the answer. */
export const postBytes = (
  d: TestDaemon,
  urlPath: string,
  body: Buffer,
  options: {
    readonly chunked?: boolean
    readonly contentType?: string
    readonly token?: string
    /**
     * Sends the head, then the body once the daemon has handed the connection to a new
     * `denia-init recv-pipe` helper (ADR 0904): the handler started before any of the body arrived.
     */
    readonly bodyAfterHelper?: boolean
  } = {}
): Promise<PostResult & { connection?: string | undefined }> =>
  new Promise((resolve, reject) => {
    const [host, port] = d.config.values.bindAddr.split(":")
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token ?? ADMIN_TOKEN}`,
      "content-type": options.contentType ?? "application/octet-stream"
    }
    if (options.chunked === true) headers["transfer-encoding"] = "chunked"
    else headers["content-length"] = String(body.length)
    const req = http.request({ host, port: Number(port), method: "POST", path: urlPath, headers, agent: false }, (res) => {
      let text = ""
      res.on("data", (c: Buffer) => (text += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }))
      res.on("error", reject)
    })
    req.on("error", reject)
    if (options.bodyAfterHelper !== true) req.end(body)
    else endOnceHelperHolds(req, body).catch(reject)
  })

/** The hosted Debian base with python3 as `default/base:py` (the repository's service must exist). */
export const pushPythonBase = (d: TestDaemon) =>
  buildAndPushDebianImage({ packages: ["python3"], containerfile: [] }, {
    registry: d.config.values.bindAddr,
    repository: "default/base",
    tag: "py",
    credentials: { username: "admin", password: ADMIN_TOKEN }
  })

/** A small Python web app built `FROM` the hosted base. */
export const pythonAppFiles = (address: string, greeting: string, extraRun: ReadonlyArray<string> = []) => ({
  Dockerfile: [
    `FROM ${address}/default/base:py`,
    "COPY requirements.txt /app/requirements.txt",
    "RUN echo dependencies-installed > /app/deps.txt",
    ...extraRun,
    "COPY www /app/www",
    "WORKDIR /app/www",
    "CMD python3 -m http.server $PORT",
    ""
  ].join("\n"),
  "requirements.txt": "flask==0\n",
  "www/index.html": `${greeting}\n`
})

/** An uncompressed tar of `files` (name → content). */
export const contextOf = (files: Record<string, string>): Promise<Buffer> =>
  tarOf(Object.entries(files).map(([name, content]) => ({ name, content })))

/** Creates a service with `source` on port 8080 (HTTP health on `/`, 30 s) and returns its id. */
export const createBuildService = async (
  d: TestDaemon,
  projectId: string,
  name: string,
  source: Record<string, unknown>
): Promise<string> => {
  const r = await d.request("/v1/services", {
    method: "POST",
    json: { projectId, name, source, port: 8080, health: { path: "/", timeoutSeconds: 30 } }
  })
  // no vitest `expect` here: the benchmarks load this module too
  if (r.status !== 201) throw new Error(`creating service ${name}: ${r.status} ${await r.text()}`)
  return ((await r.json()) as { id: string }).id
}

/** A daemon (with `config`) holding the hosted python base (`default/base:py`) and an upload service `app`. */
export interface BuildFixture {
  readonly d: TestDaemon
  readonly projectId: string
  readonly appId: string
}

export const startBuildFixture = async (config: Record<string, unknown> = {}, internals: DaemonInternals = {}): Promise<BuildFixture> => {
  const d = await startTestDaemon(config, internals)
  try {
    const projects = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    const projectId = projects.items.find((p) => p.name === "default")?.id ?? ""
    const createService = (name: string, source: Record<string, unknown>) => createBuildService(d, projectId, name, source)
    await createService("base", { type: "hosted", tag: "py" })
    await pushPythonBase(d)
    const appId = await createService("app", { type: "upload" })
    return { d, projectId, appId }
  } catch (e) {
    await d.stop()
    throw e
  }
}
