/**
 * `denia secrets ls|set|rm <service>`: secret env vars (names only ever come
 * back). `set` reads the value from stdin when piped, else prompts without echo.
 */
import { Args, Command } from "@effect/cli"
import { Effect } from "effect"
import { connectionOptions, withClient } from "./connection.js"
import { ClientCommandError } from "./errors.js"
import { printRows, printValue } from "./output.js"
import { redeployHint } from "./redeployHint.js"
import { resolveService, serviceArgFor } from "./resolve.js"
import { projectOption, serviceArg } from "./services.js"
import { readSecret } from "./stdin.js"

const nameArg = Args.text({ name: "NAME" }).pipe(Args.withDescription("Secret env var name, e.g. DATABASE_URL"))

const ls = Command.make(
  "ls",
  { ...connectionOptions, project: projectOption, service: serviceArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const list = yield* c.secrets.list({ path: { id: r.service.id } })
        return yield* printRows(o.json, list, list.items, [
          ["name", (s) => s.name],
          ["updated", (s) => s.updatedAt]
        ])
      }))
).pipe(Command.withDescription("List a service's secrets (names and when they changed)."))

const set = Command.make(
  "set",
  { ...connectionOptions, project: projectOption, service: serviceArg, name: nameArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const value = yield* readSecret(`Value of ${o.name}`)
        if (value === "") {
          return yield* new ClientCommandError({ message: "the secret value is empty (pipe it on stdin or type it at the prompt)" })
        }
        const info = yield* c.secrets.set({ path: { id: r.service.id }, payload: { name: o.name, value } })
        const hint = redeployHint([serviceArgFor(r)])
        return yield* printValue(o.json, { ...info, hint }, `set secret ${info.name} on ${r.project.name}/${r.service.name}\n${hint}`)
      }))
).pipe(Command.withDescription("Set a secret; the value comes from stdin or a prompt that does not echo."))

const rm = Command.make(
  "rm",
  { ...connectionOptions, project: projectOption, service: serviceArg, name: nameArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        yield* c.secrets.delete({ path: { id: r.service.id, name: o.name } })
        const hint = redeployHint([serviceArgFor(r)])
        return yield* printValue(
          o.json,
          { removed: o.name, hint },
          `removed secret ${o.name} from ${r.project.name}/${r.service.name}\n${hint}`
        )
      }))
).pipe(Command.withDescription("Remove a secret."))

export const secretsCommand = Command.make("secrets").pipe(
  Command.withDescription("Manage a service's secret env vars (stored encrypted)."),
  Command.withSubcommands([ls, set, rm])
)
