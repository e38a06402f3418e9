import { Args, Command } from "@effect/cli"
import { Effect } from "effect"
import type { Project } from "../../domain/project.js"
import { connectionOptions, withClient } from "./connection.js"
import { printRows, printValue, safe } from "./output.js"
import { resolveProject } from "./resolve.js"

const columns = [
  ["name", (p: Project) => p.name],
  ["id", (p: Project) => p.id],
  ["created", (p: Project) => p.createdAt]
] as const

const projectArg = Args.text({ name: "project" }).pipe(Args.withDescription("Project name or id"))

const list = Command.make(
  "list",
  connectionOptions,
  (o) => withClient(o, (client) => client.projects.list().pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, columns))))
).pipe(Command.withDescription("List projects you can see."))

const describe = (p: Project): string =>
  ([
    `name:       ${p.name}`,
    `id:         ${p.id}`,
    `shared env: ${
      Object.keys(p.sharedEnv).length === 0 ? "-" : `${Object.keys(p.sharedEnv).sort().join(", ")} (denia env ls --project ${p.name})`
    }`,
    `created:    ${p.createdAt}`
  ] as const)
    .map(safe)
    .join("\n")

const get = Command.make(
  "get",
  { ...connectionOptions, project: projectArg },
  (o) => withClient(o, (client) => resolveProject(client, o.project).pipe(Effect.flatMap((p) => printValue(o.json, p, describe(p)))))
).pipe(Command.withDescription("Show one project."))

const create = Command.make(
  "create",
  { ...connectionOptions, name: Args.text({ name: "name" }).pipe(Args.withDescription("Project name: a-z, 0-9 and '-'")) },
  (o) =>
    withClient(
      o,
      (client) =>
        client.projects.create({ payload: { name: o.name, sharedEnv: {}, defaultLimits: null } }).pipe(
          Effect.flatMap((p) => printValue(o.json, p, `created ${p.name} (${p.id})`))
        )
    )
).pipe(Command.withDescription("Create a project (super-admin)."))

const remove = Command.make(
  "delete",
  { ...connectionOptions, project: projectArg },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const p = yield* resolveProject(client, o.project)
        yield* client.projects.delete({ path: { id: p.id } })
        return yield* printValue(o.json, { deleted: p.id }, `deleted ${p.name}`)
      }))
).pipe(Command.withDescription("Delete a project that has no services."))

export const projectsCommand = Command.make("projects").pipe(
  Command.withDescription("Manage projects."),
  Command.withSubcommands([list, get, create, remove])
)
