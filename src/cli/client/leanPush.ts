/**
 * `denia push` without loading the CLI (ADR 0811, 0812): src/main.ts runs this right after the
 * early pack started (prepack.ts) and loads the Effect CLI only when it declines. It takes the
 * common case only — flags it knows, a manifest that is certainly valid, a connection that is
 * certain (leanConnection.ts), the project found by name and the service found (or, with
 * `--create`, created from the manifest), the Dockerfile in the listing — and declines (returns
 * false, having printed and consumed nothing) on anything else, so every error before the upload is
 * still the full CLI's own, with its message. From the upload on it is committed and reports like
 * push.ts: the same notes, progress, `upload refused: …`, `--json` (with `--no-follow`), and when
 * following, the deployment log to `healthy` with the URL or to the failure (leanFollow.ts).
 * Imports node built-ins, smol-toml and the CLI's Effect-free modules only.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { parse } from "smol-toml"
import { printErr, printOut } from "../terminal.js"
import { connectionFlagsIn, type LeanConnection, leanConnection, type LeanIngressHints, leanIngressHints } from "./leanConnection.js"
import { followLog, leanServiceUrl, printLogLines } from "./leanFollow.js"
import { createService, findService, type Named, plainTable } from "./leanLookups.js"
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
  /** Not `--no-follow`: follow the deployment log to its end. */
  readonly follow: boolean
  readonly create: boolean
  readonly url: string | undefined
  readonly token: string | undefined
  readonly profile: string | undefined
}

/**
 * `push` with only `--no-follow`, `--json`, `--create`, `--url`, `--token`, `--profile` (`--x v` or
 * `--x=v`), `--json` only with `--no-follow`; undefined otherwise. Pure.
 */
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
  const follow = !flags.has("--no-follow")
  // following with --json prints the deployment merged with its final status: the full CLI does that
  if (follow && flags.has("--json")) return undefined
  return {
    json: flags.has("--json"),
    follow,
    create: flags.has("--create"),
    url: values.get("url"),
    token: values.get("token"),
    profile: values.get("profile")
  }
}

interface LeanManifest {
  readonly dir: string
  readonly project: string
  readonly service: string
  readonly dockerfile: string
  readonly context: string
  /** `[create]` with manifest.ts's defaults. */
  readonly port: number
  readonly healthPath: string | undefined
}

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
      let port = 8080
      let healthPath: string | undefined
      if (create !== undefined) {
        if (!plainTable(create) || Object.keys(create).some((k) => k !== "port" && k !== "health_path")) return undefined
        const { health_path } = create
        if (create["port"] !== undefined) {
          const p = create["port"]
          if (!(typeof p === "number" && Number.isInteger(p) && p >= 1 && p <= 65535)) return undefined
          port = p
        }
        if (health_path !== undefined) {
          if (!(typeof health_path === "string" && health_path.startsWith("/"))) return undefined
          healthPath = health_path
        }
      }
      return { dir, project, service, dockerfile, context, port, healthPath }
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
  /** What push.ts's URL is made with, when following. */
  readonly hints: LeanIngressHints | undefined
  readonly found: Promise<{ readonly project: Named; readonly service: Named | undefined } | undefined>
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
    const hints = flags.follow ? leanIngressHints(connection.url) : undefined
    if (hints === "unsure") return undefined
    const found = findService(connection, manifest.project, manifest.service)
    return { flags, manifest, connection, hints, found }
  } catch {
    return undefined // whatever it was, the full CLI meets it too and says what it is
  }
}

/**
 * `denia push` from src/main.ts, before the CLI loads: starts packing the context (prepack.ts) and
 * runs the push when the lean path can. True: done (`process.exitCode` set on a
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

/**
 * What the upload needs, once the lookups answered, the listing has the Dockerfile and (with
 * `--create`, as the last step) a missing service was created; undefined to decline.
 */
const ready = async ({ connection, flags, found: finding, manifest }: LeanStart) => {
  const contextDir = path.resolve(manifest.dir, manifest.context)
  const packing = peekEarlyPrepack(contextDir, manifest.dockerfile)
  if (packing === undefined) return undefined
  const [found, listing] = await Promise.all([finding, packing.listing.catch(() => undefined)])
  if (found === undefined || listing === undefined) return undefined
  if (found.service === undefined && !flags.create) return undefined
  if (!listing.files.some((f) => f.rel === path.posix.normalize(manifest.dockerfile))) return undefined
  const created = found.service === undefined
    ? await createService(connection, {
      projectId: found.project.id,
      name: manifest.service,
      source: { type: "upload", dockerfile: manifest.dockerfile },
      port: manifest.port,
      ...(manifest.healthPath === undefined ? {} : { health: { path: manifest.healthPath } })
    })
    : undefined
  const service = found.service ?? created
  if (service === undefined) return undefined
  // the URL push.ts prints at `healthy` needs these
  if (flags.follow && (service.port === undefined || service.tlsEnabled === undefined)) return undefined
  // committed from here on: the early pack is this command's
  if (takeEarlyPrepack(contextDir, manifest.dockerfile) !== packing) return undefined
  return { found: { project: found.project, service }, created: created !== undefined, listing, packing }
}

/** push.ts after the upload, when following: the deployment log to its end, then `healthy — <url>` or the failure. */
const follow = async (start: LeanStart, found: { project: Named; service: Named }, bytes: number, id: string): Promise<true> => {
  printOut(`uploaded ${formatBytes(bytes)}; deployment ${id} queued; following its log`)
  const final = await followLog(start.connection, `/v1/deployments/${id}/logs`, printLogLines).catch((e: unknown) =>
    e instanceof Error ? e : new Error(String(e))
  )
  if (final instanceof Error) return fail(`log stream failed: ${final.message}`)
  const arg = found.project.name === "default" ? found.service.name : `${found.project.name}/${found.service.name}`
  const service = { name: found.service.name, port: found.service.port ?? null, tlsEnabled: found.service.tlsEnabled ?? false }
  if (final?.status === "healthy") {
    printOut(`deployment ${id}: healthy — ${leanServiceUrl(service, found.project.name, start.hints)}`)
    return true
  }
  printOut(`deployment ${id}: ${final?.status ?? "unknown"}${final?.error !== undefined ? ` (${final.error})` : ""}`)
  return fail(`deployment ${final?.status ?? "did not finish"}; see: denia logs ${arg}`)
}

const leanPush = async (start: LeanStart): Promise<boolean> => {
  const { connection, flags } = start
  const go = await ready(start).catch(() => undefined)
  if (go === undefined) return false
  const { created, found, listing, packing } = go
  try {
    if (created) printErr(`created ${start.manifest.project}/${start.manifest.service} (${found.service.id})`)
    printErr(`packing ${listing.files.length} files (${formatBytes(listing.totalBytes)})${listing.viaGit ? ", as git sees them" : ""}`)
    if (listing.totalBytes > BIG_CONTEXT_BYTES) {
      const top = largestFiles(listing).map((f) => `  ${formatBytes(f.size).padStart(10)}  ${f.rel}`)
      printErr([`the context is larger than 100 MiB; the largest files (add them to .deniaignore or .dockerignore?):`, ...top].join("\n"))
    }
    const answer = await sendContext(
      `${connection.url}/v1/services/${found.service.id}/uploads?deploy=true`,
      connection.token,
      packing,
      () => uploadReporter(process.stderr.isTTY === true, tarBytes(listing)),
      (message) => printErr(message)
    ).catch((e: unknown) => e instanceof Error ? e : new Error(String(e)))
    if (answer instanceof Error) return fail(`upload failed: ${answer.message}`)
    if (answer.status !== 201) return fail(`upload refused: ${refusal(answer.body, answer.status)}`)
    const uploaded = answerOf(answer.body)
    if (uploaded === undefined) return fail("the daemon's answer to the upload is not understood")
    if (uploaded.deploymentId === undefined) return fail("the daemon queued no deployment")
    if (flags.follow) return await follow(start, found, uploaded.upload.bytes, uploaded.deploymentId)
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
