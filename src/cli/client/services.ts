import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, ParseResult, Schema } from "effect"
import { CreateService, type Service } from "../../domain/service.js"
import { connectionOptions, withClient } from "./connection.js"
import { ClientCommandError } from "./errors.js"
import { printRows, printValue } from "./output.js"

const sourceLabel = (s: Service): string => {
  switch (s.source.type) {
    case "image":
      return s.source.image
    case "hosted":
      return `hosted:${s.source.tag}`
    case "git":
      return `git:${s.source.url}#${s.source.ref}`
    case "upload":
      return "upload"
  }
}

const columns = [
  ["id", (s: Service) => s.id],
  ["name", (s: Service) => s.name],
  ["source", sourceLabel],
  ["port", (s: Service) => String(s.port)],
  ["deployment", (s: Service) => s.promotedDeploymentId ?? "-"]
] as const

const projectFlag = Options.text("project").pipe(Options.withDescription("Project id"), Options.optional)

const list = Command.make("list", { ...connectionOptions, project: projectFlag }, (o) =>
  withClient(o, (client) =>
    client.services
      .list({ urlParams: Option.match(o.project, { onNone: () => ({}), onSome: (projectId) => ({ projectId }) }) })
      .pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, columns)))
  )
).pipe(Command.withDescription("List services you can see."))

const get = Command.make("get", { ...connectionOptions, id: Args.text({ name: "id" }) }, (o) =>
  withClient(o, (client) => client.services.get({ path: { id: o.id } }).pipe(Effect.flatMap((s) => printValue(o.json, s, JSON.stringify(s, null, 2)))))
).pipe(Command.withDescription("Show one service."))

const decodeCreate = Schema.decodeUnknown(Schema.parseJson(CreateService), { onExcessProperty: "error" })

const create = Command.make(
  "create",
  {
    ...connectionOptions,
    project: Options.text("project").pipe(Options.withDescription("Project id")),
    name: Args.text({ name: "name" }),
    image: Options.text("image").pipe(Options.withDescription("Image reference (source type image)"), Options.optional),
    port: Options.integer("port").pipe(Options.withDescription("Port the workload listens on"), Options.withDefault(8080)),
    spec: Options.text("spec").pipe(Options.withDescription("Full service body as JSON (overrides --image/--port)"), Options.optional)
  },
  (o) =>
    Effect.gen(function* () {
      const raw = Option.isSome(o.spec)
        ? o.spec.value
        : JSON.stringify({
            projectId: o.project,
            name: o.name,
            port: o.port,
            source: Option.isSome(o.image) ? { type: "image", image: o.image.value } : { type: "hosted" }
          })
      const body = yield* decodeCreate(raw).pipe(
        Effect.mapError((e) => {
          const first = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
          return new ClientCommandError({
            message: `invalid service: ${first === undefined ? e.message : `${first.path.join(".")}: ${first.message}`}`
          })
        })
      )
      return yield* withClient(o, (client) => client.services.create({ payload: body }).pipe(Effect.flatMap((s) => printValue(o.json, s, s.id))))
    })
).pipe(Command.withDescription("Create a service."))

const remove = Command.make("delete", { ...connectionOptions, id: Args.text({ name: "id" }) }, (o) =>
  withClient(o, (client) => client.services.delete({ path: { id: o.id } }).pipe(Effect.flatMap(() => printValue(o.json, { deleted: o.id }, `deleted ${o.id}`))))
).pipe(Command.withDescription("Delete a service (stops it first)."))

export const servicesCommand = Command.make("services").pipe(
  Command.withDescription("Manage services."),
  Command.withSubcommands([list, get, create, remove])
)
