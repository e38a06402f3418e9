/**
 * `denia env ls|set|unset`: a service's env (`<service>`), or with
 * `--project P` and no service, the project's shared env. Changes reach
 * replicas at the next deployment, which the output says.
 */
import { Args, Command } from "@effect/cli"
import { Effect, Option } from "effect"
import type { EnvMap } from "../../domain/env.js"
import type { Project } from "../../domain/project.js"
import { connectionOptions, type DeniaClient, withClient } from "./connection.js"
import { ClientCommandError } from "./errors.js"
import { printRows, printValue } from "./output.js"
import { projectRedeployHint, redeployHint } from "./redeployHint.js"
import { DEFAULT_PROJECT, resolveProject, resolveService, serviceArgFor } from "./resolve.js"
import { projectOption } from "./services.js"

/** `K=V` pairs into a map; the first `=` splits, so values may contain `=`. Pure. */
export const parseAssignments = (pairs: ReadonlyArray<string>): { readonly env: Record<string, string> } | { readonly error: string } => {
  const env: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf("=")
    if (at <= 0) return { error: `${JSON.stringify(pair)} must be KEY=VALUE` }
    env[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return { env }
}

type Target =
  | {
    readonly kind: "service"
    readonly id: string
    readonly label: string
    readonly arg: string
    readonly env: EnvMap
    readonly shared: EnvMap
  }
  | { readonly kind: "project"; readonly id: string; readonly label: string; readonly env: EnvMap; readonly project: Project }

const serviceTarget = (client: DeniaClient, ref: string, project: Option.Option<string>) =>
  Effect.map(resolveService(client, ref, project), (r): Target => ({
    kind: "service",
    id: r.service.id,
    label: `${r.project.name}/${r.service.name}`,
    arg: serviceArgFor(r),
    env: r.service.env,
    shared: r.project.sharedEnv
  }))

const projectTarget = (client: DeniaClient, ref: string) =>
  Effect.map(
    resolveProject(client, ref),
    (p): Target => ({ kind: "project", id: p.id, label: `project ${p.name} (shared)`, env: p.sharedEnv, project: p })
  )

const needService = new ClientCommandError({
  message: "give a service (e.g. denia env ls web), or --project P alone for the project's shared env"
})

const writeEnv = (client: DeniaClient, target: Target, env: EnvMap) =>
  target.kind === "service"
    ? Effect.as(client.services.update({ path: { id: target.id }, payload: { env } }), redeployHint([target.arg]))
    : Effect.flatMap(client.projects.update({ path: { id: target.id }, payload: { sharedEnv: env } }), () =>
      projectRedeployHint(client, target.project))

const ls = Command.make(
  "ls",
  {
    ...connectionOptions,
    project: projectOption,
    service: Args.text({ name: "service" }).pipe(Args.withDescription("Service name, project/name or id"), Args.optional)
  },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const target = Option.isSome(o.service)
          ? yield* serviceTarget(client, o.service.value, o.project)
          : Option.isSome(o.project)
          ? yield* projectTarget(client, o.project.value)
          : yield* Effect.fail(needService)
        const rows: Array<{ key: string; value: string; from: string }> = []
        if (target.kind === "service") {
          for (const [key, value] of Object.entries(target.shared)) if (!(key in target.env)) rows.push({ key, value, from: "project" })
          for (const [key, value] of Object.entries(target.env)) rows.push({ key, value, from: "service" })
        } else for (const [key, value] of Object.entries(target.env)) rows.push({ key, value, from: "project" })
        rows.sort((a, b) => a.key.localeCompare(b.key))
        const json = target.kind === "service" ? { env: target.env, sharedEnv: target.shared } : { sharedEnv: target.env }
        return yield* printRows(o.json, json, rows, [
          ["key", (r) => r.key],
          ["value", (r) => r.value],
          ["from", (r) => r.from]
        ])
      }))
).pipe(Command.withDescription("List env vars (a service's, with the project's shared ones it inherits)."))

const set = Command.make(
  "set",
  {
    ...connectionOptions,
    project: projectOption,
    args: Args.text({ name: "KEY=VALUE" }).pipe(Args.withDescription("[service] then KEY=VALUE pairs"), Args.atLeast(1))
  },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const [first, ...rest] = o.args
        const hasService = first !== undefined && !first.includes("=")
        const parsed = parseAssignments(hasService ? rest : o.args)
        if ("error" in parsed) return yield* new ClientCommandError({ message: parsed.error })
        if (Object.keys(parsed.env).length === 0) return yield* new ClientCommandError({ message: "give at least one KEY=VALUE" })
        const target = hasService
          ? yield* serviceTarget(client, first, o.project)
          : Option.isSome(o.project)
          ? yield* projectTarget(client, o.project.value)
          : yield* Effect.fail(needService)
        const hint = yield* writeEnv(client, target, { ...target.env, ...parsed.env })
        const keys = Object.keys(parsed.env).sort()
        return yield* printValue(o.json, { set: keys, target: target.label, hint }, `set ${keys.join(", ")} on ${target.label}\n${hint}`)
      }))
).pipe(Command.withDescription("Set env vars: denia env set web K=V… (or --project P K=V… for shared env)."))

const unset = Command.make(
  "unset",
  {
    ...connectionOptions,
    project: projectOption,
    args: Args.text({ name: "KEY" }).pipe(Args.withDescription("[service] then keys"), Args.atLeast(1))
  },
  (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const [first, ...rest] = o.args
        // With --project, a first argument naming one of its services is the service; otherwise all are shared keys.
        const asService = first !== undefined && rest.length > 0
          ? yield* Effect.either(serviceTarget(client, first, o.project))
          : undefined
        const target = asService !== undefined && asService._tag === "Right"
          ? asService.right
          : Option.isSome(o.project)
          ? yield* projectTarget(client, o.project.value)
          : asService !== undefined && asService._tag === "Left"
          ? yield* Effect.fail(asService.left)
          : yield* Effect.fail(needService)
        const keys = target.kind === "service" ? rest : o.args
        const missing = keys.filter((k) => !(k in target.env))
        if (missing.length > 0) return yield* new ClientCommandError({ message: `${missing.join(", ")} not set on ${target.label}` })
        const env = Object.fromEntries(Object.entries(target.env).filter(([k]) => !keys.includes(k)))
        const hint = yield* writeEnv(client, target, env)
        return yield* printValue(
          o.json,
          { unset: keys, target: target.label, hint },
          `removed ${keys.join(", ")} from ${target.label}\n${hint}`
        )
      }))
).pipe(Command.withDescription("Remove env vars: denia env unset web KEY… (or --project P KEY…)."))

export const envCommand = Command.make("env").pipe(
  Command.withDescription(`Service env vars, or a project's shared env with --project (default project: ${DEFAULT_PROJECT}).`),
  Command.withSubcommands([ls, set, unset])
)
