/**
 * `denia push --no-follow` without loading the CLI (ADR 0811): src/main.ts runs this right after the
 * early pack started (prepack.ts) and loads the Effect CLI only when it declines. It takes the
 * common case only — flags it knows, a manifest that is certainly valid, a connection that is
 * certain (leanConnection.ts), the project and the service found by name, the Dockerfile in the
 * listing — and declines (returns false, having printed and consumed nothing) on anything else, so
 * every error before the upload is still the full CLI's own, with its message. From the upload on it
 * is committed and reports like push.ts: the same notes, progress, `upload refused: …`, `--json`.
 * Imports node built-ins, smol-toml and the CLI's Effect-free modules only.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as path from "node:path"
import { parse } from "smol-toml"
import { printErr, printOut } from "../terminal.js"
import { connectionFlagsIn, type LeanConnection, leanConnection } from "./leanConnection.js"
import { sendsPlainTar } from "./localDaemon.js"
import { largestFiles, tarBytes } from "./pack.js"
import { peekEarlyPrepack, startEarlyPrepack, takeEarlyPrepack } from "./prepack.js"
import { relativePathProblem } from "./relativePath.js"
import { formatBytes, sendContext, uploadReporter } from "./upload.js"

const BIG_CONTEXT_BYTES = 100 * 1024 * 1024
/** domain/names.ts's NAME_PATTERN and domain/ids.ts's UUID_PATTERN (those modules load Effect; a unit test keeps them equal). */
export const LEAN_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
export const LEAN_UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

export interface LeanPushArgs {
  readonly json: boolean
  readonly url: string | undefined
  readonly token: string | undefined
  readonly profile: string | undefined
}

/** `push --no-follow` with only `--json`, `--create`, `--url`, `--token`, `--profile` (`--x v` or `--x=v`); undefined otherwise. Pure. */
export const parseLeanPushArgs = (args: ReadonlyArray<string>): LeanPushArgs | undefined => {
  if (args[0] !== "push") return undefined
  const values = new Map<string, string>()
  const flags = new Set<string>()
  for (let i = 1; i < args.length; i++) {
    const a = args[i] ?? ""
    if (["--no-follow", "--json", "--create"].includes(a)) {
      if (flags.has(a)) return undefined
      flags.add(a)
      continue
    }
    const m = /^--(url|token|profile)(?:=(.*))?$/s.exec(a)
    if (m === null) return undefined
    const name = m[1] ?? ""
    const value = m[2] ?? args[++i]
    if (value === undefined || values.has(name) || (m[2] === undefined && value.startsWith("-"))) return undefined
    values.set(name, value)
  }
  if (!flags.has("--no-follow")) return undefined
  return { json: flags.has("--json"), url: values.get("url"), token: values.get("token"), profile: values.get("profile") }
}

interface LeanManifest {
  readonly dir: string
  readonly project: string
  readonly service: string
  readonly dockerfile: string
  readonly context: string
}

const plainTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date)

/** The nearest `.denia` when manifest.ts would accept it as it is (stricter is fine: the full CLI then decides). */
const leanManifest = (cwd: string): LeanManifest | undefined => {
  let dir = path.resolve(cwd)
  for (let i = 0; i < 64; i++) {
    const text = readQuietly(path.join(dir, ".denia"))
    if (text !== undefined) {
      const raw: unknown = (() => {
        try {
          return parse(text)
        } catch {
          return undefined
        }
      })()
      if (!plainTable(raw) || Object.keys(raw).some((k) => !["project", "service", "dockerfile", "context", "create"].includes(k))) {
        return undefined
      }
      const { project, service, create } = raw
      const dockerfile = raw["dockerfile"] ?? "Dockerfile"
      const context = raw["context"] ?? "."
      const name = (v: unknown): v is string => typeof v === "string" && LEAN_NAME_PATTERN.test(v)
      const relative = (v: unknown): v is string => typeof v === "string" && relativePathProblem(v) === undefined
      if (!name(project) || !name(service) || !relative(dockerfile) || !relative(context)) return undefined
      // a project named like an id is looked up by id (resolve.ts): the full CLI does that
      if (LEAN_UUID_PATTERN.test(project)) return undefined
      if (create !== undefined) {
        if (!plainTable(create) || Object.keys(create).some((k) => k !== "port" && k !== "health_path")) return undefined
        const { port, health_path } = create
        if (port !== undefined && !(typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535)) return undefined
        if (health_path !== undefined && !(typeof health_path === "string" && health_path.startsWith("/"))) return undefined
      }
      return { dir, project, service, dockerfile, context }
    }
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
  return undefined
}

/** A file's text; undefined when it cannot be read (missing, a directory, no permission). */
const readQuietly = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** GET `path` as JSON; undefined on any failure (the full CLI then makes the request and reports it). */
const getJson = (connection: LeanConnection, pathname: string): Promise<unknown> =>
  new Promise((resolve) => {
    let target: URL
    try {
      target = new URL(`${connection.url}${pathname}`)
    } catch {
      return resolve(undefined)
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") return resolve(undefined)
    const req = (target.protocol === "https:" ? https : http).get(target, {
      headers: { authorization: `Bearer ${connection.token}`, accept: "application/json" }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", () => resolve(undefined))
      res.on("end", () => {
        if (res.statusCode !== 200) return resolve(undefined)
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
        } catch {
          resolve(undefined)
        }
      })
    })
    req.on("error", () => resolve(undefined))
  })

interface Named {
  readonly id: string
  readonly name: string
  readonly projectId?: string
}

const itemsOf = (body: unknown): ReadonlyArray<Named> | undefined => {
  if (!plainTable(body) || !Array.isArray(body["items"])) return undefined
  const out: Array<Named> = []
  for (const item of body["items"]) {
    if (!plainTable(item) || typeof item["id"] !== "string" || typeof item["name"] !== "string") return undefined
    const projectId = item["projectId"]
    out.push({ id: item["id"], name: item["name"], ...(typeof projectId === "string" ? { projectId } : {}) })
  }
  return out
}

/** The project and the service by name, from two list requests made at once (resolve.ts makes them one after the other). */
const findService = async (connection: LeanConnection, project: string, service: string) => {
  const [projects, services] = await Promise.all([getJson(connection, "/v1/projects"), getJson(connection, "/v1/services")])
  const p = itemsOf(projects)?.find((x) => x.name === project)
  if (p === undefined) return undefined
  const s = itemsOf(services)?.find((x) => x.name === service && x.projectId === p.id)
  return s === undefined ? undefined : { project: p, service: s }
}

const fail = (message: string): true => {
  printErr(`denia: ${message}`, { multiline: false })
  process.exitCode = 1
  return true
}

interface UploadAnswer {
  readonly upload: { readonly id: string; readonly bytes: number; readonly entries: number }
  readonly deployment: unknown
  readonly deploymentId: string | undefined
}

const answerOf = (body: string): UploadAnswer | undefined => {
  try {
    const v: unknown = JSON.parse(body)
    if (!plainTable(v) || !plainTable(v["upload"])) return undefined
    const { id, bytes, entries } = v["upload"]
    if (typeof id !== "string" || typeof bytes !== "number" || typeof entries !== "number") return undefined
    const deployment = v["deployment"]
    if (deployment !== undefined && !(plainTable(deployment) && typeof deployment["id"] === "string")) return undefined
    return { upload: { id, bytes, entries }, deployment, deploymentId: plainTable(deployment) ? String(deployment["id"]) : undefined }
  } catch {
    return undefined
  }
}

const refusal = (body: string, status: number): string => {
  try {
    const v: unknown = JSON.parse(body)
    const error = plainTable(v) ? v["error"] : undefined
    if (plainTable(error) && typeof error["message"] === "string") return error["message"]
  } catch {
    // not JSON: the status says it
  }
  return `HTTP ${status}`
}

interface LeanStart {
  readonly flags: LeanPushArgs
  readonly manifest: LeanManifest
  readonly connection: LeanConnection
  readonly found: Promise<{ readonly project: Named; readonly service: Named } | undefined>
}

/** The lean path's synchronous start: flags, manifest, connection, and the two lookups sent; undefined when it declines. */
const leanStart = (args: ReadonlyArray<string>, cwd: string): LeanStart | undefined => {
  try {
    const flags = parseLeanPushArgs(args)
    if (flags === undefined) return undefined
    const manifest = leanManifest(cwd)
    if (manifest === undefined) return undefined
    const connection = leanConnection(flags)
    if (connection === undefined) return undefined
    const found = findService(connection, manifest.project, manifest.service)
    return { flags, manifest, connection, found }
  } catch {
    return undefined // whatever it was, the full CLI meets it too and says what it is
  }
}

/**
 * `denia push` from src/main.ts, before the CLI loads: starts packing the context (prepack.ts) and,
 * for `--no-follow`, runs the push when the lean path can. True: done (`process.exitCode` set on a
 * failure). False: nothing was printed or taken; the full CLI runs the command (and finds the early
 * pack in its slot).
 */
export const runPush = async (args: ReadonlyArray<string>, cwd: string): Promise<boolean> => {
  // the lookups go out before the packers start: the daemon answers them at once, and then both cores are the packers'
  const start = leanStart(args, cwd)
  // a daemon on this host takes the tar as it is (ADR 0820); a guess when the full CLI decides the connection
  const connection = start?.connection ??
    leanConnection(connectionFlagsIn(args) ?? { url: undefined, token: undefined, profile: undefined })
  await startEarlyPrepack(cwd, connection !== undefined && sendsPlainTar(connection.url))
  return start === undefined ? false : leanPush(start)
}

/** What the upload needs, once the lookups answered and the listing has the Dockerfile; undefined to decline. */
const ready = async ({ found: finding, manifest }: LeanStart) => {
  const contextDir = path.resolve(manifest.dir, manifest.context)
  const packing = peekEarlyPrepack(contextDir, manifest.dockerfile)
  if (packing === undefined) return undefined
  const [found, listing] = await Promise.all([finding, packing.listing.catch(() => undefined)])
  if (found === undefined || listing === undefined) return undefined
  if (!listing.files.some((f) => f.rel === path.posix.normalize(manifest.dockerfile))) return undefined
  // committed from here on: the early pack is this command's
  return takeEarlyPrepack(contextDir, manifest.dockerfile) === packing ? { found, listing, packing } : undefined
}

const leanPush = async (start: LeanStart): Promise<boolean> => {
  const { connection, flags } = start
  const go = await ready(start).catch(() => undefined)
  if (go === undefined) return false
  const { found, listing, packing } = go
  try {
    printErr(`packing ${listing.files.length} files (${formatBytes(listing.totalBytes)})${listing.viaGit ? ", as git sees them" : ""}`)
    if (listing.totalBytes > BIG_CONTEXT_BYTES) {
      const top = largestFiles(listing).map((f) => `  ${formatBytes(f.size).padStart(10)}  ${f.rel}`)
      printErr([`the context is larger than 100 MiB; the largest files (add them to .deniaignore or .dockerignore?):`, ...top].join("\n"))
    }
    const reporter = () => uploadReporter(process.stderr.isTTY === true, tarBytes(listing))
    const report = reporter()
    packing.onPacked(report.packed)
    const packed = await packing.packed
    const answer = await sendContext(
      `${connection.url}/v1/services/${found.service.id}/uploads?deploy=true`,
      connection.token,
      packed,
      report,
      (r) => packing.packCompressed(r.packed),
      reporter,
      (message) => printErr(message)
    ).catch((e: unknown) => e instanceof Error ? e : new Error(String(e))).finally(report.finish)
    if (answer instanceof Error) return fail(`upload failed: ${answer.message}`)
    if (answer.status !== 201) return fail(`upload refused: ${refusal(answer.body, answer.status)}`)
    const uploaded = answerOf(answer.body)
    if (uploaded === undefined) return fail("the daemon's answer to the upload is not understood")
    if (uploaded.deploymentId === undefined) return fail("the daemon queued no deployment")
    if (flags.json) {
      // the deployment as push.ts prints it: decoded by its schema (loaded only for --json)
      const [Schema, { Deployment }] = await Promise.all([import("effect/Schema"), import("../../domain/deployment.js")])
      const deployment = Schema.decodeUnknownOption(Deployment)(uploaded.deployment)
      if (deployment._tag === "None") return fail("the daemon's answer to the upload is not understood")
      process.stdout.write(`${JSON.stringify({ upload: uploaded.upload, deployment: deployment.value }, null, 2)}\n`)
      return true
    }
    const arg = found.project.name === "default" ? found.service.name : `${found.project.name}/${found.service.name}`
    printOut(`deployment ${uploaded.deploymentId} queued; follow it: denia logs ${arg} -f`)
    return true
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e))
  } finally {
    packing.discard()
  }
}
