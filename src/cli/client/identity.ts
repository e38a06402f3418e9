import { Args, Command, Options } from "@effect/cli"
import { Effect } from "effect"
import type { ApiToken, Membership, User } from "../../domain/identity.js"
import { connectionOptions, withClient } from "./connection.js"
import { readSecretFromStdin } from "./stdin.js"
import { printRows, printValue } from "./output.js"

const userColumns = [
  ["id", (u: User) => u.id],
  ["username", (u: User) => u.username],
  ["super-admin", (u: User) => (u.superAdmin ? "yes" : "no")]
] as const

export const usersCommand = Command.make("users").pipe(
  Command.withDescription("Manage users (super-admin)."),
  Command.withSubcommands([
    Command.make("list", connectionOptions, (o) =>
      withClient(o, (c) => c.users.list().pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, userColumns))))
    ),
    Command.make(
      "create",
      { ...connectionOptions, username: Args.text({ name: "username" }), superAdmin: Options.boolean("super-admin") },
      (o) =>
        Effect.gen(function* () {
          const password = yield* readSecretFromStdin
          return yield* withClient(o, (c) =>
            c.users.create({ payload: { username: o.username, password, superAdmin: o.superAdmin } }).pipe(Effect.flatMap((u) => printValue(o.json, u, u.id)))
          )
        })
    ).pipe(Command.withDescription("Create a user; the password is read from stdin.")),
    Command.make("delete", { ...connectionOptions, id: Args.text({ name: "id" }) }, (o) =>
      withClient(o, (c) => c.users.delete({ path: { id: o.id } }).pipe(Effect.flatMap(() => printValue(o.json, { deleted: o.id }, `deleted ${o.id}`))))
    )
  ])
)

const tokenColumns = [
  ["id", (t: ApiToken) => t.id],
  ["name", (t: ApiToken) => t.name],
  ["created", (t: ApiToken) => t.createdAt],
  ["last-used", (t: ApiToken) => t.lastUsedAt ?? "-"]
] as const

export const tokensCommand = Command.make("tokens").pipe(
  Command.withDescription("Manage your API tokens."),
  Command.withSubcommands([
    Command.make("list", connectionOptions, (o) =>
      withClient(o, (c) => c.apiTokens.list().pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, tokenColumns))))
    ),
    Command.make("create", { ...connectionOptions, name: Args.text({ name: "name" }) }, (o) =>
      withClient(o, (c) =>
        c.apiTokens.create({ payload: { name: o.name } }).pipe(Effect.flatMap((t) => printValue(o.json, t, `${t.token}\n(shown once; id ${t.id})`)))
      )
    ).pipe(Command.withDescription("Mint a named API token (printed once).")),
    Command.make("revoke", { ...connectionOptions, id: Args.text({ name: "id" }) }, (o) =>
      withClient(o, (c) => c.apiTokens.revoke({ path: { id: o.id } }).pipe(Effect.flatMap(() => printValue(o.json, { revoked: o.id }, `revoked ${o.id}`))))
    )
  ])
)

const memberColumns = [
  ["user", (m: Membership) => m.userId],
  ["role", (m: Membership) => m.role],
  ["since", (m: Membership) => m.createdAt]
] as const

const projectOption = Options.text("project").pipe(Options.withDescription("Project id"))

export const membersCommand = Command.make("members").pipe(
  Command.withDescription("Manage project members (project admin)."),
  Command.withSubcommands([
    Command.make("list", { ...connectionOptions, project: projectOption }, (o) =>
      withClient(o, (c) => c.members.list({ path: { id: o.project } }).pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, memberColumns))))
    ),
    Command.make(
      "add",
      {
        ...connectionOptions,
        project: projectOption,
        user: Options.text("user").pipe(Options.withDescription("User id")),
        role: Options.choice("role", ["viewer", "operator", "admin"])
      },
      (o) =>
        withClient(o, (c) =>
          c.members.set({ path: { id: o.project }, payload: { userId: o.user, role: o.role } }).pipe(Effect.flatMap((m) => printValue(o.json, m, `${m.userId} is ${m.role}`)))
        )
    ).pipe(Command.withDescription("Add a member or change their role.")),
    Command.make("remove", { ...connectionOptions, project: projectOption, user: Options.text("user") }, (o) =>
      withClient(o, (c) =>
        c.members.remove({ path: { id: o.project, userId: o.user } }).pipe(Effect.flatMap(() => printValue(o.json, { removed: o.user }, `removed ${o.user}`)))
      )
    )
  ])
)
