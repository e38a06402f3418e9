import { Args, Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import type { ApiToken, Membership, User } from "../../domain/identity.js"
import { connectionOptions, type DeniaClient, withClient } from "./connection.js"
import { printRows, printValue } from "./output.js"
import { resolveProject, resolveTokenId, resolveUserId } from "./resolve.js"
import { readSecret } from "./stdin.js"

const userColumns = [
  ["id", (u: User) => u.id],
  ["username", (u: User) => u.username],
  ["super-admin", (u: User) => (u.superAdmin ? "yes" : "no")]
] as const

export const usersCommand = Command.make("users").pipe(
  Command.withDescription("Manage users (super-admin)."),
  Command.withSubcommands([
    Command.make(
      "list",
      connectionOptions,
      (o) => withClient(o, (c) => c.users.list().pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, userColumns))))
    ).pipe(Command.withDescription("List users.")),
    Command.make(
      "create",
      {
        ...connectionOptions,
        username: Args.text({ name: "username" }).pipe(Args.withDescription("Login name of the new user")),
        superAdmin: Options.boolean("super-admin").pipe(Options.withDescription("Make the user a super-admin"))
      },
      (o) =>
        Effect.gen(function*() {
          const password = yield* readSecret("Password")
          return yield* withClient(o, (c) =>
            c.users.create({ payload: { username: o.username, password, superAdmin: o.superAdmin } }).pipe(Effect.flatMap((u) =>
              printValue(o.json, u, u.id)
            )))
        })
    ).pipe(Command.withDescription("Create a user; the password comes from stdin or a prompt.")),
    Command.make(
      "delete",
      { ...connectionOptions, user: Args.text({ name: "user" }).pipe(Args.withDescription("Username or user id")) },
      (o) =>
        withClient(o, (c) =>
          Effect.gen(function*() {
            const id = yield* resolveUserId(c, o.user)
            yield* c.users.delete({ path: { id } })
            return yield* printValue(o.json, { deleted: id }, `deleted ${o.user}`)
          }))
    ).pipe(Command.withDescription("Delete a user."))
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
    Command.make(
      "list",
      connectionOptions,
      (o) => withClient(o, (c) => c.apiTokens.list().pipe(Effect.flatMap((r) => printRows(o.json, r, r.items, tokenColumns))))
    ).pipe(Command.withDescription("List your API tokens.")),
    Command.make(
      "create",
      { ...connectionOptions, name: Args.text({ name: "name" }).pipe(Args.withDescription("A name to recognise the token by")) },
      (o) =>
        withClient(
          o,
          (c) =>
            c.apiTokens.create({ payload: { name: o.name } }).pipe(
              Effect.flatMap((t) => printValue(o.json, t, `${t.token}\n(shown once; id ${t.id})`))
            )
        )
    ).pipe(Command.withDescription("Mint a named API token (printed once).")),
    Command.make(
      "revoke",
      { ...connectionOptions, name: Args.text({ name: "token" }).pipe(Args.withDescription("Token name or id")) },
      (o) =>
        withClient(o, (c) =>
          Effect.gen(function*() {
            const id = yield* resolveTokenId(c, o.name)
            yield* c.apiTokens.revoke({ path: { id } })
            return yield* printValue(o.json, { revoked: id }, `revoked ${o.name}`)
          }))
    ).pipe(Command.withDescription("Revoke one of your API tokens."))
  ])
)

const memberColumns = [
  ["user", (m: Membership) => m.userId],
  ["role", (m: Membership) => m.role],
  ["since", (m: Membership) => m.createdAt]
] as const

const projectOption = Options.text("project").pipe(Options.withPseudoName("PROJECT"), Options.withDescription("Project name or id"))
const userOption = Options.text("user").pipe(Options.withPseudoName("USER"), Options.withDescription("Username or user id"))

/** Runs `f` with the project id and (when given) the user id the flags name. */
const withMemberRefs = <A, E, R>(
  c: DeniaClient,
  project: string,
  user: Option.Option<string>,
  f: (projectId: string, userId: string) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const p = yield* resolveProject(c, project)
    const userId = Option.isSome(user) ? yield* resolveUserId(c, user.value) : ""
    return yield* f(p.id, userId)
  })

export const membersCommand = Command.make("members").pipe(
  Command.withDescription("Manage project members (project admin)."),
  Command.withSubcommands([
    Command.make(
      "list",
      { ...connectionOptions, project: projectOption },
      (o) =>
        withClient(
          o,
          (c) =>
            withMemberRefs(c, o.project, Option.none(), (id) => c.members.list({ path: { id } })).pipe(
              Effect.flatMap((r) => printRows(o.json, r, r.items, memberColumns))
            )
        )
    ).pipe(Command.withDescription("List a project's members.")),
    Command.make(
      "add",
      {
        ...connectionOptions,
        project: projectOption,
        user: userOption,
        role: Options.choice("role", ["viewer", "operator", "admin"]).pipe(Options.withDescription("What the member may do in the project"))
      },
      (o) =>
        withClient(
          o,
          (c) =>
            withMemberRefs(c, o.project, Option.some(o.user), (id, userId) =>
              c.members.set({ path: { id }, payload: { userId, role: o.role } })).pipe(
                Effect.flatMap((m) =>
                  printValue(o.json, m, `${o.user} is ${m.role} in ${o.project}`)
                )
              )
        )
    ).pipe(Command.withDescription("Add a member or change their role.")),
    Command.make(
      "remove",
      { ...connectionOptions, project: projectOption, user: userOption },
      (o) =>
        withClient(
          o,
          (c) =>
            withMemberRefs(c, o.project, Option.some(o.user), (id, userId) => c.members.remove({ path: { id, userId } })).pipe(
              Effect.flatMap(() => printValue(o.json, { removed: o.user }, `removed ${o.user} from ${o.project}`))
            )
        )
    ).pipe(Command.withDescription("Remove a member from a project."))
  ])
)
