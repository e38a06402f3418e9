/**
 * `denia init` (write the `.denia` manifest), `denia create` (create the manifest's service as an upload
 * source) and `denia push [--create] [--no-follow]` (pack the context, stream it to the uploads endpoint
 * with `deploy=true`, follow the deployment log to healthy/failed, print the URL). Packing and the upload
 * live in pack.ts / upload.ts and are imported when push runs (ADR 0013: a client command loads only
 * what it needs); packing runs while the service is resolved, or from before the CLI loaded (ADR 0810).
 */
import { Command, Options, Prompt } from "@effect/cli"
import { Effect, Option, Redacted, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Deployment } from "../../domain/deployment.js"
import { isResourceName } from "../../domain/names.js"
import { CreateService } from "../../domain/service.js"
import { isTerminal } from "../terminal.js"
import { type ConnectionFlags, connectionOptions, resolveConnection, withClient } from "./connection.js"
import { followSse, writeLines } from "./deployments.js"
import { asCommandError, ClientCommandError } from "./errors.js"
import { createBodyOf, findManifest, Manifest, MANIFEST_FILE, renderManifest } from "./manifest.js"
import { printJson, printNote, printText } from "./output.js"
import type { Prepack } from "./prepack.js"
import { type ResolvedService, resolveProject, resolveService, serviceArgFor } from "./resolve.js"
import { serviceUrl } from "./serviceView.js"

const BIG_CONTEXT_BYTES = 100 * 1024 * 1024

const UploadAnswer = Schema.parseJson(Schema.Struct({
  upload: Schema.Struct({ id: Schema.String, bytes: Schema.Number, entries: Schema.Number }),
  deployment: Schema.optional(Deployment)
}))
const ErrorAnswer = Schema.parseJson(Schema.Struct({ error: Schema.Struct({ message: Schema.String }) }))

const text = (name: string, description: string) => Options.text(name).pipe(Options.withDescription(description), Options.optional)

const ask = (message: string, fallback: string) =>
  process.stdin.isTTY === true
    ? Prompt.text({ message, default: fallback }).pipe(Effect.orElseSucceed(() => fallback))
    : Effect.succeed(fallback)

const defaultServiceName = (dir: string): string => {
  const name = path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63)
  return isResourceName(name) ? name : "web"
}

export const initCommand = Command.make(
  "init",
  {
    project: text("project", "Project name (default: default)"),
    service: text("service", "Service name (default: the directory's name)"),
    dockerfile: text("dockerfile", "Dockerfile path relative to the context (default Dockerfile)"),
    context: text("context", "Build context relative to this directory (default .)"),
    port: Options.integer("port").pipe(Options.withDescription("Port the app listens on, for create (default 8080)"), Options.optional),
    healthPath: text("health-path", "HTTP health check path, for create (e.g. /)"),
    force: Options.boolean("force").pipe(Options.withDescription("Overwrite an existing .denia"))
  },
  (o) =>
    Effect.gen(function*() {
      const dir = process.cwd()
      const file = path.join(dir, MANIFEST_FILE)
      const exists = yield* Effect.promise(() => fs.access(file).then(() => true, () => false))
      if (exists && !o.force) {
        return yield* new ClientCommandError({ message: `${MANIFEST_FILE} exists already; use --force to replace it` })
      }
      const pick = (flag: Option.Option<string>, message: string, fallback: string) =>
        Option.isSome(flag) ? Effect.succeed(flag.value) : ask(message, fallback)
      const raw = {
        project: yield* pick(o.project, "Project", "default"),
        service: yield* pick(o.service, "Service", defaultServiceName(dir)),
        dockerfile: yield* pick(o.dockerfile, "Dockerfile (relative to the context)", "Dockerfile"),
        context: yield* pick(o.context, "Build context", "."),
        create: {
          port: Option.getOrElse(o.port, () => 8080),
          ...(Option.isSome(o.healthPath) ? { health_path: o.healthPath.value } : {})
        }
      }
      const manifest = yield* Schema.decodeUnknown(Manifest)(raw).pipe(
        Effect.mapError((e) => new ClientCommandError({ message: `invalid manifest: ${e.message.split("\n").slice(-1)[0] ?? ""}` }))
      )
      yield* Effect.tryPromise({
        try: () => fs.writeFile(file, renderManifest(manifest), { mode: 0o644 }),
        catch: () => new ClientCommandError({ message: `cannot write ${file}` })
      })
      yield* printText(`wrote ${MANIFEST_FILE} (${manifest.project}/${manifest.service}); next: denia create, then denia push`)
    })
).pipe(Command.withDescription("Write a .denia manifest (project, service, dockerfile, context, create defaults)."))

/** The manifest's create body, decoded as the API expects it. */
const createPayload = (manifest: Manifest, projectId: string) =>
  Schema.decodeUnknown(CreateService)(createBodyOf(manifest, projectId)).pipe(
    Effect.mapError((e) => new ClientCommandError({ message: `invalid service from ${MANIFEST_FILE}: ${e.message.split("\n")[0] ?? ""}` }))
  )

const createFromManifest = (flags: ConnectionFlags, manifest: Manifest) =>
  withClient(flags, (client) =>
    Effect.gen(function*() {
      const project = yield* resolveProject(client, manifest.project)
      return yield* asCommandError(client.services.create({ payload: yield* createPayload(manifest, project.id) }))
    }))

export const createCommand = Command.make(
  "create",
  { ...connectionOptions },
  (o) =>
    Effect.gen(function*() {
      const { manifest } = yield* findManifest(process.cwd())
      const service = yield* createFromManifest(o, manifest)
      if (o.json) return yield* printJson(service)
      yield* printText(`created ${manifest.project}/${manifest.service} (${service.id}), source upload; next: denia push`)
    })
).pipe(Command.withDescription("Create the service the .denia manifest names (source upload)."))

/** The manifest's service; with `create`, created first when it does not exist. */
const serviceOf = (flags: ConnectionFlags, manifest: Manifest, create: boolean) =>
  withClient(flags, (client) =>
    Effect.gen(function*() {
      const ref = `${manifest.project}/${manifest.service}`
      const found = yield* resolveService(client, ref).pipe(Effect.option)
      if (Option.isSome(found)) return found.value
      if (!create) {
        return yield* new ClientCommandError({ message: `no service ${ref}; create it with \`denia create\` or push with --create` })
      }
      const project = yield* resolveProject(client, manifest.project)
      const service = yield* asCommandError(client.services.create({ payload: yield* createPayload(manifest, project.id) }))
      yield* printNote(`created ${ref} (${service.id})`)
      return { service, project } satisfies ResolvedService
    }))

interface PushFlags extends ConnectionFlags {
  readonly create: boolean
  readonly noFollow: boolean
  readonly json: boolean
}

/** Resolves (or creates) the service while `packing` runs, uploads the packed context, then follows the deployment. */
const pushPacked = (o: PushFlags, manifest: Manifest, contextDir: string, packing: Prepack) =>
  Effect.gen(function*() {
    const resolved = yield* serviceOf(o, manifest, o.create)
    const { largestFiles, tarBytes } = yield* Effect.promise(() => import("./pack.js"))
    const { formatBytes, sendContext, uploadReporter } = yield* Effect.promise(() => import("./upload.js"))
    const listing = yield* Effect.tryPromise({
      try: () => packing.listing,
      catch: (e) => new ClientCommandError({ message: `cannot read the build context ${contextDir}: ${(e as Error).message}` })
    })
    if (!listing.files.some((f) => f.rel === path.posix.normalize(manifest.dockerfile))) {
      return yield* new ClientCommandError({ message: `dockerfile: ${manifest.dockerfile} does not exist in ${contextDir}` })
    }
    yield* printNote(
      `packing ${listing.files.length} files (${formatBytes(listing.totalBytes)})${listing.viaGit ? ", as git sees them" : ""}`
    )
    if (listing.totalBytes > BIG_CONTEXT_BYTES) {
      const top = largestFiles(listing).map((f) => `  ${formatBytes(f.size).padStart(10)}  ${f.rel}`)
      yield* printNote(
        [`the context is larger than 100 MiB; the largest files (add them to .deniaignore or .dockerignore?):`, ...top].join("\n")
      )
    }
    const connection = yield* asCommandError(resolveConnection(o))
    const answer = yield* Effect.tryPromise({
      try: () =>
        sendContext(
          `${connection.url}/v1/services/${resolved.service.id}/uploads?deploy=true`,
          Redacted.value(connection.token),
          packing,
          () => uploadReporter(isTerminal(process.stderr), tarBytes(listing)),
          (message) => process.stderr.write(`${message}\n`)
        ),
      catch: (e) => new ClientCommandError({ message: `upload failed: ${(e as Error).message}` })
    })
    if (answer.status !== 201) {
      const message = Option.match(Schema.decodeUnknownOption(ErrorAnswer)(answer.body), {
        onNone: () => `HTTP ${answer.status}`,
        onSome: (e) => e.error.message
      })
      return yield* new ClientCommandError({ message: `upload refused: ${message}` })
    }
    const uploaded = yield* Schema.decodeUnknown(UploadAnswer)(answer.body).pipe(
      Effect.mapError(() => new ClientCommandError({ message: "the daemon's answer to the upload is not understood" }))
    )
    const deployment = uploaded.deployment
    if (deployment === undefined) return yield* new ClientCommandError({ message: "the daemon queued no deployment" })
    const arg = serviceArgFor(resolved)
    const url = serviceUrl(resolved.service, resolved.project.name, undefined, connection.ingress)
    if (o.noFollow) {
      if (o.json) return yield* printJson({ upload: uploaded.upload, deployment })
      return yield* printText(`deployment ${deployment.id} queued; follow it: denia logs ${arg} -f`)
    }
    if (!o.json) yield* printText(`uploaded ${formatBytes(uploaded.upload.bytes)}; deployment ${deployment.id} queued; following its log`)
    const final = yield* followSse(o, `/v1/deployments/${deployment.id}/logs`, (lines) => {
      if (!o.json) writeLines(lines)
    })
    if (o.json) yield* printJson({ upload: uploaded.upload, deployment: { ...deployment, ...final }, url })
    else if (final?.status === "healthy") yield* printText(`deployment ${deployment.id}: healthy — ${url}`)
    else {yield* printText(
        `deployment ${deployment.id}: ${final?.status ?? "unknown"}${final?.error !== undefined ? ` (${final.error})` : ""}`
      )}
    if (final?.status !== "healthy") {
      return yield* new ClientCommandError({ message: `deployment ${final?.status ?? "did not finish"}; see: denia logs ${arg}` })
    }
  })

export const pushCommand = Command.make(
  "push",
  {
    ...connectionOptions,
    create: Options.boolean("create").pipe(Options.withDescription("Create the service from .denia first when it does not exist")),
    noFollow: Options.boolean("no-follow").pipe(Options.withDescription("Return once the deployment is queued"))
  },
  (o) =>
    Effect.gen(function*() {
      const { dir, manifest } = yield* findManifest(process.cwd())
      const contextDir = path.resolve(dir, manifest.context)
      // packing starts before the service is resolved (or was started by src/main.ts before the CLI loaded)
      const { prepack, takeEarlyPrepack } = yield* Effect.promise(() => import("./prepack.js"))
      const early = takeEarlyPrepack(contextDir, manifest.dockerfile)
      const packing = early ?? (yield* Effect.gen(function*() {
        const [connection, { sendsPlainTar }] = yield* Effect.all([
          asCommandError(resolveConnection(o)),
          Effect.promise(() => import("./localDaemon.js"))
        ])
        return prepack(contextDir, manifest.dockerfile, sendsPlainTar(connection.url))
      }))
      return yield* pushPacked(o, manifest, contextDir, packing).pipe(Effect.ensuring(Effect.sync(packing.discard)))
    })
).pipe(Command.withDescription("Upload the working tree (.denia context), build it on the daemon and deploy it."))
