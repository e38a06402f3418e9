/**
 * Deployment commands: `deploy` (follows the deployment log live), `deployments`,
 * `logs`, and the service actions stop/start/restart/rollback.
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option, Redacted } from "effect"
import type { Deployment } from "../../domain/deployment.js"
import { connectionOptions, resolveConnection, withClient, type ConnectionFlags, type DeniaClient } from "./connection.js"
import { asCommandError, ClientCommandError } from "./errors.js"
import { printRows, printValue } from "./output.js"

const serviceArg = Args.text({ name: "service" }).pipe(Args.withDescription("Service id, or <project>/<service> name"))

/** Accepts a service id or `project/service` (or just `service` in the `default` project). */
const resolveServiceId = (client: DeniaClient, ref: string) =>
  Effect.gen(function* () {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-/.test(ref)) return ref
    const [projectName, serviceName] = ref.includes("/") ? (ref.split("/", 2) as [string, string]) : ["default", ref]
    const projects = yield* client.projects.list()
    const project = projects.items.find((p) => p.name === projectName)
    if (project === undefined) return yield* new ClientCommandError({ message: `no project named ${JSON.stringify(projectName)}` })
    const services = yield* client.services.list({ urlParams: { projectId: project.id } })
    const service = services.items.find((s) => s.name === serviceName)
    if (service === undefined) return yield* new ClientCommandError({ message: `no service named ${JSON.stringify(serviceName)} in ${projectName}` })
    return service.id
  })

/** Follows an SSE stream, printing each log line; resolves with the final status. */
const followSse = (flags: ConnectionFlags, path: string, onLine: (line: string) => void) =>
  Effect.gen(function* () {
    const connection = yield* asCommandError(resolveConnection(flags))
    return yield* Effect.tryPromise({
      try: async (signal) => {
        const r = await fetch(`${connection.url}${path}`, { headers: { authorization: `Bearer ${Redacted.value(connection.token)}` }, signal })
        if (!r.ok || r.body === null) throw new Error(`log stream answered ${r.status}`)
        const reader = r.body.getReader()
        const decoder = new TextDecoder()
        let buffer = ""
        for (;;) {
          const { value, done } = await reader.read()
          if (done) return undefined
          buffer += decoder.decode(value, { stream: true })
          let cut: number
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            const kind = /^event: (.*)$/m.exec(event)?.[1]
            const data = /^data: (.*)$/m.exec(event)?.[1]
            if (kind === "end" && data !== undefined) return JSON.parse(data) as { status: string; error?: string }
            if (kind === "log" && data !== undefined) onLine(data)
          }
        }
      },
      catch: (e) => new ClientCommandError({ message: `log stream failed: ${(e as Error).message}` })
    })
  })

const deploymentColumns = [
  ["id", (d: Deployment) => d.id],
  ["status", (d: Deployment) => d.status],
  ["image", (d: Deployment) => d.imageRef],
  ["created", (d: Deployment) => d.createdAt],
  ["error", (d: Deployment) => d.error ?? ""]
] as const

export const deployCommand = Command.make(
  "deploy",
  {
    ...connectionOptions,
    service: serviceArg,
    image: Options.text("image").pipe(Options.withDescription("Deploy this image instead of the service's source"), Options.optional),
    noFollow: Options.boolean("no-follow").pipe(Options.withDescription("Return after queueing the deployment"))
  },
  (o) =>
    Effect.gen(function* () {
      const deployment = yield* withClient(o, (c) =>
        Effect.flatMap(resolveServiceId(c, o.service), (id) => c.deployments.deployService({ path: { id }, payload: Option.isSome(o.image) ? { image: o.image.value } : {} }))
      )
      if (o.noFollow) return yield* printValue(o.json, deployment, `deployment ${deployment.id} queued`)
      if (!o.json) yield* Console.log(`deployment ${deployment.id} queued; following its log`)
      const final = yield* followSse(o, `/v1/deployments/${deployment.id}/logs`, (line) => {
        if (!o.json) console.log(line)
      })
      if (o.json) yield* Console.log(JSON.stringify({ ...deployment, ...final }, null, 2))
      else yield* Console.log(`deployment ${deployment.id}: ${final?.status ?? "unknown"}${final?.error !== undefined ? ` (${final.error})` : ""}`)
      if (final?.status !== "healthy") return yield* new ClientCommandError({ message: `deployment ${final?.status ?? "did not finish"}` })
    })
).pipe(Command.withDescription("Deploy a service and follow the deployment log."))

export const deploymentsCommand = Command.make("deployments", { ...connectionOptions, service: serviceArg }, (o) =>
  withClient(o, (c) =>
    Effect.flatMap(resolveServiceId(c, o.service), (id) => c.deployments.listForService({ path: { id } })).pipe(
      Effect.flatMap((r) => printRows(o.json, r, r.items, deploymentColumns))
    )
  )
).pipe(Command.withDescription("List a service's deployments, newest first."))

export const logsCommand = Command.make(
  "logs",
  {
    ...connectionOptions,
    service: serviceArg,
    follow: Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("Keep streaming new lines")),
    tail: Options.integer("tail").pipe(Options.withDefault(100), Options.withDescription("How many recent lines"))
  },
  (o) =>
    Effect.gen(function* () {
      const id = yield* withClient(o, (c) => resolveServiceId(c, o.service))
      if (!o.follow) {
        const r = yield* withClient(o, (c) => c.deployments.serviceLogs({ path: { id }, urlParams: { tail: o.tail } }))
        return yield* printValue(o.json, r, r.lines.join("\n"))
      }
      yield* followSse(o, `/v1/services/${id}/logs/stream?tail=${o.tail}`, (line) => console.log(line))
    })
).pipe(Command.withDescription("Print a service's log (-f to follow)."))

const actionCommand = (name: "stop" | "start" | "restart" | "rollback", description: string) =>
  Command.make(name, { ...connectionOptions, service: serviceArg }, (o) =>
    withClient(o, (c) =>
      Effect.flatMap(resolveServiceId(c, o.service), (id) => c.deployments[name]({ path: { id } })).pipe(
        Effect.flatMap((r) => printValue(o.json, r, r.deployment === null ? `${name}: accepted` : `${name}: deployment ${r.deployment.id} queued`))
      )
    )
  ).pipe(Command.withDescription(description))

export const actionCommands = [
  actionCommand("stop", "Stop a service (it stays stopped across restarts)."),
  actionCommand("start", "Start a stopped service again."),
  actionCommand("restart", "Replace a service's replicas with fresh ones."),
  actionCommand("rollback", "Go back to the previous deployment.")
] as const
