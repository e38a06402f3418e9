import { Args, Command, Options } from "@effect/cli"
import { Effect } from "effect"
import type { Project } from "../../domain/project.js"
import { connectionOptions, withClient } from "./connection.js"
import { printRows, printValue } from "./output.js"

const columns = [
  ["id", (p: Project) => p.id],
  ["name", (p: Project) => p.name],
  ["created", (p: Project) => p.createdAt]
] as const

const list = Command.make("list", connectionOptions, (o) =>
  withClient(o, (client) => client.projects.list().pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, columns))))
).pipe(Command.withDescription("List projects you can see."))

const get = Command.make("get", { ...connectionOptions, id: Args.text({ name: "id" }) }, (o) =>
  withClient(o, (client) => client.projects.get({ path: { id: o.id } }).pipe(Effect.flatMap((p) => printValue(o.json, p, `${p.id}  ${p.name}`))))
).pipe(Command.withDescription("Show one project."))

const create = Command.make("create", { ...connectionOptions, name: Args.text({ name: "name" }) }, (o) =>
  withClient(o, (client) =>
    client.projects.create({ payload: { name: o.name, sharedEnv: {}, defaultLimits: null } }).pipe(Effect.flatMap((p) => printValue(o.json, p, p.id)))
  )
).pipe(Command.withDescription("Create a project (super-admin)."))

const remove = Command.make("delete", { ...connectionOptions, id: Args.text({ name: "id" }), yes: Options.boolean("yes") }, (o) =>
  withClient(o, (client) => client.projects.delete({ path: { id: o.id } }).pipe(Effect.flatMap(() => printValue(o.json, { deleted: o.id }, `deleted ${o.id}`))))
).pipe(Command.withDescription("Delete a project that has no services."))

export const projectsCommand = Command.make("projects").pipe(
  Command.withDescription("Manage projects."),
  Command.withSubcommands([list, get, create, remove])
)
