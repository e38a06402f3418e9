/** `denia services list|get|create|update|delete`: names or ids, state and URL in lists. */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, ParseResult, Schema } from "effect"
import { describeCapabilities } from "../../domain/capabilities.js"
import { CreateService, describeHealth, type Service, UpdateService } from "../../domain/service.js"
import { type Connection, connectionOptions, type DeniaClient, withClient } from "./connection.js"
import { ClientCommandError } from "./errors.js"
import { gitCreateOptions, type GitFlags, gitSourceFromFlags, makeGitServiceCommands, NO_GIT_FLAGS, rotateHook } from "./gitSource.js"
import { printRows, printText, printValue, safe } from "./output.js"
import { redeployHint } from "./redeployHint.js"
import { DEFAULT_PROJECT, resolveProject, resolveService, serviceArgFor } from "./resolve.js"
import { workloadFields, workloadOptions } from "./serviceFlags.js"
import { endpointsLabel, type KnownRoute, serviceUrl, sourceLabel, stateLabel } from "./serviceView.js"

export const serviceArg = Args.text({ name: "service" }).pipe(
  Args.withDescription("Service: <name> (in --project, else default), <project>/<name> or an id")
)
export const projectOption = Options.text("project").pipe(
  Options.withPseudoName("PROJECT"),
  Options.withDescription("Project name or id (default: default)"),
  Options.optional
)

/** The ingress' default routes by service id, when the caller may read the route table (super-admin). */
const knownRoutes = (client: DeniaClient): Effect.Effect<ReadonlyMap<string, KnownRoute>> =>
  client.ingress.routes().pipe(
    Effect.map((r) =>
      new Map(r.items.flatMap((x) => (x.kind === "default" && x.serviceId !== null
        ? [[x.serviceId, { hostname: x.hostname, tlsEnabled: x.tlsEnabled }] as const]
        : [])
      ))
    ),
    Effect.orElseSucceed(() => new Map<string, KnownRoute>())
  )

interface Row {
  readonly service: Service
  readonly project: string
  readonly url: string
  /** The daemon's host as this CLI reaches it (where public TCP/UDP ports answer). */
  readonly host: string
}

const columns = [
  ["name", (r: Row) => `${r.project}/${r.service.name}`],
  ["status", (r: Row) => stateLabel(r.service)],
  ["url", (r: Row) => r.url],
  ["image", (r: Row) => sourceLabel(r.service, r.project)],
  ["id", (r: Row) => r.service.id]
] as const

const rowsFor = (client: DeniaClient, connection: Connection, services: ReadonlyArray<Service>) =>
  Effect.gen(function*() {
    const projects = yield* client.projects.list()
    const names = new Map(projects.items.map((p) => [p.id, p.name]))
    const routes = yield* knownRoutes(client)
    return services.map((service): Row => {
      const project = names.get(service.projectId) ?? service.projectId
      const host = new URL(connection.url).hostname
      return { service, project, url: serviceUrl(service, project, routes.get(service.id), connection.ingress), host }
    })
  })

const list = Command.make(
  "list",
  { ...connectionOptions, project: projectOption },
  (o) =>
    withClient(o, (client, connection) =>
      Effect.gen(function*() {
        const projectId = Option.isSome(o.project) ? (yield* resolveProject(client, o.project.value)).id : undefined
        const r = yield* client.services.list({ urlParams: projectId === undefined ? {} : { projectId } })
        const rows = yield* rowsFor(client, connection, r.items)
        return yield* printRows(o.json, r, rows, columns)
      }))
).pipe(Command.withDescription("List services with their state, URL and image."))

const describeService = (row: Row, arg: string): string => {
  const s = row.service
  const st = s.status
  const lines: Array<[string, string]> = [
    ["name", `${row.project}/${s.name}`],
    ["id", s.id],
    ["status", stateLabel(s)],
    ["url", row.url],
    ["image", sourceLabel(s, row.project)],
    ["port", s.port === null ? "none (worker)" : String(s.port)],
    ["health", describeHealth(s.health)],
    ["capabilities", describeCapabilities(s.capabilities)],
    ["shm", `${s.shmMb} MiB`],
    ["live deployment", st?.liveDeploymentId ?? s.promotedDeploymentId ?? "-"],
    ["endpoints", endpointsLabel(s, row.host)]
  ]
  if (st?.network !== undefined) lines.push(["network", st.network])
  if (st !== undefined && st.restarts > 0) lines.push(["restarts", String(st.restarts)])
  if (st?.lastExit !== undefined) lines.push(["last exit", st.lastExit])
  if (st?.nextRestartAt !== undefined) lines.push(["next restart", st.nextRestartAt])
  lines.push(["env", Object.keys(s.env).length === 0 ? "-" : `${Object.keys(s.env).sort().join(", ")} (denia env ls ${arg})`])
  if (st?.pendingChanges === true) lines.push(["pending changes", `yes → redeploy to apply: denia deploy ${arg}`])
  const width = Math.max(...lines.map(([k]) => k.length)) + 1
  // each value is one line: server text with a newline in it must not forge the next field
  return lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${safe(v)}`).join("\n")
}

const get = Command.make(
  "get",
  { ...connectionOptions, project: projectOption, service: serviceArg },
  (o) =>
    withClient(o, (client, connection) =>
      Effect.gen(function*() {
        const resolved = yield* resolveService(client, o.service, o.project)
        const [row] = yield* rowsFor(client, connection, [resolved.service])
        if (o.json || row === undefined) return yield* printValue(true, resolved.service, "")
        return yield* printText(describeService(row, serviceArgFor(resolved)))
      }))
).pipe(Command.withDescription("Show one service."))

/** `path: message` of the first problem with a create body, in one line. Pure. */
export const firstProblem = (e: ParseResult.ParseError): string => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  if (first === undefined) return e.message.split("\n")[0] ?? "invalid"
  const where = first.path.join(".")
  if (first.message.startsWith("is missing")) return `${where} is missing`
  return where === "" ? first.message : `${where}: ${first.message}`
}

const decodeCreate = Schema.decodeUnknown(CreateService, { onExcessProperty: "error", errors: "first" })
const decodeUpdate = Schema.decodeUnknown(UpdateService, { onExcessProperty: "error", errors: "first" })

export interface CreateFlags extends Partial<GitFlags> {
  readonly image: Option.Option<string>
  readonly source: Option.Option<"image" | "hosted">
  readonly tag: Option.Option<string>
  readonly registry: Option.Option<string>
  readonly port: Option.Option<number>
}

const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const isJsonObject = Schema.is(JsonObject)

/**
 * The create body: `--spec` first, the flags over it (flags win), `port` 8080
 * when neither says. Fails naming what is missing or contradictory. Pure.
 */
export const mergeCreateBody = (
  spec: Record<string, unknown>,
  flags: CreateFlags,
  projectId: string,
  name: string
): { readonly body: Record<string, unknown> } | { readonly error: string } => {
  const body: Record<string, unknown> = { ...spec, projectId, name }
  if (Option.isSome(flags.port)) body["port"] = flags.port.value
  else if (body["port"] === undefined) body["port"] = 8080
  const source = spec["source"]
  const specSource = isJsonObject(source) ? source : undefined
  const git = gitSourceFromFlags({ ...NO_GIT_FLAGS, ...flags }, specSource)
  if ("error" in git) return git
  if (git.source !== undefined) {
    if (Option.isSome(flags.image) || Option.isSome(flags.source) || Option.isSome(flags.tag) || Option.isSome(flags.registry)) {
      return { error: "--git builds the service from a repository: drop --image, --source, --tag and --registry" }
    }
    return { body: { ...body, source: git.source } }
  }
  const type = Option.isSome(flags.source) ? flags.source.value : Option.isSome(flags.image) ? "image" : undefined
  if (type === "hosted" && Option.isSome(flags.image)) {
    return { error: "--image and --source hosted contradict each other: a hosted service runs what is pushed to its own repository" }
  }
  if (type === "image" && Option.isSome(flags.tag)) {
    return { error: "--tag is for --source hosted; put the tag in --image (e.g. nginx:1.27)" }
  }
  if (type === "image") {
    if (Option.isNone(flags.image) && (specSource?.["type"] !== "image" || specSource["image"] === undefined)) {
      return { error: "source.image is missing: give --image REF" }
    }
    body["source"] = {
      ...(specSource?.["type"] === "image" ? specSource : {}),
      type: "image",
      ...(Option.isSome(flags.image) ? { image: flags.image.value } : {}),
      ...(Option.isSome(flags.registry) ? { registryId: flags.registry.value } : {})
    }
  } else if (type === "hosted") {
    body["source"] = {
      ...(specSource?.["type"] === "hosted" ? specSource : {}),
      type: "hosted",
      ...(Option.isSome(flags.tag) ? { tag: flags.tag.value } : {})
    }
  } else if (specSource === undefined) {
    return { error: "source is missing: give --image REF, or --source hosted [--tag TAG], or --git URL, or a \"source\" in --spec" }
  } else if (Option.isSome(flags.tag)) {
    if (specSource["type"] !== "hosted") return { error: "--tag is for --source hosted" }
    body["source"] = { ...specSource, tag: flags.tag.value }
  } else if (Option.isSome(flags.registry)) {
    if (specSource["type"] !== "image") return { error: "--registry is for --image sources" }
    body["source"] = { ...specSource, registryId: flags.registry.value }
  }
  return { body }
}

const parseSpec = (text: string): Effect.Effect<Record<string, unknown>, ClientCommandError> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (e) => new ClientCommandError({ message: `--spec is not JSON: ${(e as Error).message.split("\n")[0]}` })
  }).pipe(
    Effect.flatMap((v) =>
      Array.isArray(v)
        ? Effect.fail(new ClientCommandError({ message: "--spec must be a JSON object (a service body)" }))
        : Schema.decodeUnknown(JsonObject)(v).pipe(
          Effect.mapError(() => new ClientCommandError({ message: "--spec must be a JSON object (a service body)" }))
        )
    )
  )

const create = Command.make(
  "create",
  {
    ...connectionOptions,
    project: projectOption,
    name: Args.text({ name: "name" }).pipe(Args.withDescription("Service name: a-z, 0-9 and '-', at most 63")),
    image: Options.text("image").pipe(
      Options.withPseudoName("REF"),
      Options.withDescription("Run this image (source image), e.g. nginx:1.27"),
      Options.optional
    ),
    source: Options.choice("source", ["image", "hosted"]).pipe(
      Options.withDescription("Source type; hosted = images pushed to this daemon's registry as <project>/<name>:<tag>"),
      Options.optional
    ),
    tag: Options.text("tag").pipe(
      Options.withPseudoName("TAG"),
      Options.withDescription("Tag a hosted service deploys (default latest)"),
      Options.optional
    ),
    registry: Options.text("registry").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("Project registry id whose credentials pull --image"),
      Options.optional
    ),
    port: Options.integer("port").pipe(
      Options.withPseudoName("PORT"),
      Options.withDescription("Port the workload listens on (default 8080)"),
      Options.optional
    ),
    ...gitCreateOptions,
    ...workloadOptions,
    spec: Options.text("spec").pipe(
      Options.withPseudoName("JSON"),
      Options.withDescription("Service body as JSON; the flags above win over it"),
      Options.optional
    )
  },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const spec = Option.isSome(o.spec) ? yield* parseSpec(o.spec.value) : {}
        const specProject = typeof spec["projectId"] === "string" ? spec["projectId"] : undefined
        const project = yield* resolveProject(client, Option.getOrElse(o.project, () => specProject ?? DEFAULT_PROJECT))
        const merged = mergeCreateBody(spec, o, project.id, o.name)
        if ("error" in merged) return yield* new ClientCommandError({ message: merged.error })
        const workload = workloadFields(o, undefined, Option.isSome(o.port))
        if ("error" in workload) return yield* new ClientCommandError({ message: workload.error })
        const body = yield* decodeCreate({ ...merged.body, ...workload.fields }).pipe(
          Effect.mapError((e) => new ClientCommandError({ message: `invalid service: ${firstProblem(e)}` }))
        )
        const s = yield* client.services.create({ payload: body })
        const arg = project.name === DEFAULT_PROJECT ? s.name : `${project.name}/${s.name}`
        const next = s.source.type === "hosted"
          ? `push an image to ${project.name}/${s.name}:${s.source.tag}, then: denia deploy ${arg}`
          : `deploy it: denia deploy ${arg}`
        // a webhook service gets its hook now: the URL (with its secret) is shown this once
        const hook = s.source.type === "git" && s.source.autoDeploy?.mode === "webhook" ? yield* rotateHook(client, s.id) : undefined
        if (hook !== undefined) {
          return yield* printValue(
            o.json,
            { ...s, webhook: hook },
            `created ${project.name}/${s.name} (${s.id}); ${next}\nwebhook URL (shown once): ${hook.url}\nsecret for the forge's signature: ${hook.secret}`
          )
        }
        return yield* printValue(o.json, s, `created ${project.name}/${s.name} (${s.id}); ${next}`)
      }))
).pipe(Command.withDescription("Create a service: --image REF, --source hosted --tag TAG, --git URL, or --spec JSON."))

const update = Command.make(
  "update",
  {
    ...connectionOptions,
    project: projectOption,
    service: serviceArg,
    port: Options.integer("port").pipe(
      Options.withPseudoName("PORT"),
      Options.withDescription("Port the workload listens on (a worker gets one back with this)"),
      Options.optional
    ),
    ...workloadOptions
  },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const r = yield* resolveService(client, o.service, o.project)
        const workload = workloadFields(o, r.service, Option.isSome(o.port))
        if ("error" in workload) return yield* new ClientCommandError({ message: workload.error })
        const fields = { ...(Option.isSome(o.port) ? { port: o.port.value } : {}), ...workload.fields }
        if (Object.keys(fields).length === 0) {
          return yield* new ClientCommandError({
            message:
              "nothing to change: give --port, --worker, --health-path, --health-tcp, --settle-seconds, --cap-add, --cap-drop or --shm-mb"
          })
        }
        const payload = yield* decodeUpdate(fields).pipe(
          Effect.mapError((e) => new ClientCommandError({ message: `invalid change: ${firstProblem(e)}` }))
        )
        const s = yield* client.services.update({ path: { id: r.service.id }, payload })
        return yield* printValue(o.json, s, `updated ${r.project.name}/${s.name} ${redeployHint([serviceArgFor(r)])}`)
      }))
).pipe(Command.withDescription("Change a service's port/worker kind, health check, capabilities or /dev/shm (applies at the next deploy)."))

const remove = Command.make(
  "delete",
  {
    ...connectionOptions,
    project: projectOption,
    service: serviceArg,
    purgeVolumes: Options.boolean("purge-volumes").pipe(Options.withDescription("also remove the service's volumes (kept by default)"))
  },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const r = yield* resolveService(client, o.service, o.project)
        yield* client.services.delete({ path: { id: r.service.id }, urlParams: o.purgeVolumes ? { purgeVolumes: "true" } : {} })
        return yield* printValue(o.json, { deleted: r.service.id }, `deleted ${r.project.name}/${r.service.name}`)
      }))
).pipe(Command.withDescription("Delete a service (stops it first; its volumes stay unless --purge-volumes)."))

export const servicesCommand = Command.make("services").pipe(
  Command.withDescription("Manage services."),
  Command.withSubcommands([list, get, create, update, remove, ...makeGitServiceCommands(projectOption, serviceArg)])
)
