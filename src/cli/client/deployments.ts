/**
 * Deployment commands: `deploy` (follows the deployment log live), `deployments`,
 * `logs`, and the service actions stop/start/restart/rollback.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option, Redacted, Schema } from "effect"
import { formatBytes } from "../../domain/bytes.js"
import type { Deployment } from "../../domain/deployment.js"
import { escapeControl, isTerminal } from "../terminal.js"
import { type ConnectionFlags, connectionOptions, resolveConnection, withClient } from "./connection.js"
import { asCommandError, ClientCommandError } from "./errors.js"
import { parseEvents } from "./leanFollow.js"
import { makeLogSync } from "./logSync.js"
import { printJson, printNote, printRows, printText, printValue } from "./output.js"
import { resolveService, serviceArgFor } from "./resolve.js"
import { projectOption, serviceArg } from "./services.js"

/** Prints log lines as they come: escaped on a terminal (tabs kept), as they are otherwise. */
export const writeLines = (lines: ReadonlyArray<string>) => {
  if (lines.length === 0) return
  const tty = isTerminal(process.stdout)
  process.stdout.write(`${lines.map((l) => (tty ? escapeControl(l, { multiline: true }) : l)).join("\n")}\n`)
}

/** The `end` event's data: the deployment's final status (and error). */
const EndEvent = Schema.parseJson(Schema.Struct({ status: Schema.optional(Schema.String), error: Schema.optional(Schema.String) }))
const decodeEndEvent = Schema.decodeUnknownSync(EndEvent)

/** Follows an SSE stream, handing over the log lines of each network read; resolves with the final status. */
export const followSse = (flags: ConnectionFlags, path: string, onLines: (lines: ReadonlyArray<string>) => void) =>
  Effect.gen(function*() {
    const connection = yield* asCommandError(resolveConnection(flags))
    return yield* Effect.tryPromise({
      try: async (signal) => {
        const r = await fetch(`${connection.url}${path}`, {
          headers: { authorization: `Bearer ${Redacted.value(connection.token)}` },
          signal
        })
        if (!r.ok || r.body === null) throw new Error(`the daemon answered HTTP ${r.status}`)
        const reader = r.body.getReader()
        const decoder = new TextDecoder()
        let buffer = ""
        for (;;) {
          const { value, done } = await reader.read()
          if (done) return undefined
          const events = parseEvents(buffer + decoder.decode(value, { stream: true }))
          buffer = events.rest
          onLines(events.lines)
          if (events.end !== undefined) return decodeEndEvent(events.end)
        }
      },
      catch: (e) => new ClientCommandError({ message: `log stream failed: ${(e as Error).message}` })
    })
  })

const shortDigest = (d: string | undefined): string => (d === undefined ? "-" : d.replace(/^sha256:/, "").slice(0, 12))

const deploymentColumns = (liveId: string | null) =>
  [
    ["live", (d: Deployment) => (d.id === liveId ? "*" : "")],
    ["id", (d: Deployment) => d.id],
    ["status", (d: Deployment) => d.status],
    ["trigger", (d: Deployment) => d.trigger ?? "-"],
    ["digest", (d: Deployment) => shortDigest(d.imageDigest)],
    ["commit", (d: Deployment) => (d.commitSha === undefined ? "-" : d.commitSha.slice(0, 12))],
    ["image", (d: Deployment) => d.imageRef],
    ["restarts", (d: Deployment) => (d.restartCount === undefined ? "-" : String(d.restartCount))],
    ["created", (d: Deployment) => d.createdAt],
    ["error", (d: Deployment) => d.error ?? d.lastExitReason ?? ""]
  ] as const

export const deployCommand = Command.make(
  "deploy",
  {
    ...connectionOptions,
    project: projectOption,
    service: serviceArg,
    image: Options.text("image").pipe(
      Options.withPseudoName("REF"),
      Options.withDescription("Deploy this image instead of the service's source"),
      Options.optional
    ),
    upload: Options.text("upload").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("Build and deploy this stored upload again (an upload-source service; see denia uploads)"),
      Options.optional
    ),
    noFollow: Options.boolean("no-follow").pipe(Options.withDescription("Return after queueing the deployment"))
  },
  (o) =>
    Effect.gen(function*() {
      if (Option.isSome(o.image) && Option.isSome(o.upload)) {
        return yield* new ClientCommandError({
          message: "--upload cannot be combined with --image: an upload builds the service's own image"
        })
      }
      const { deployment, arg } = yield* withClient(o, (c) =>
        Effect.gen(function*() {
          const r = yield* resolveService(c, o.service, o.project)
          const deployment = yield* c.deployments.deployService({
            path: { id: r.service.id },
            payload: Option.isSome(o.image)
              ? { image: o.image.value }
              : Option.isSome(o.upload)
              ? { uploadId: o.upload.value }
              : {}
          })
          return { deployment, arg: serviceArgFor(r) }
        }))
      if (o.noFollow) return yield* printValue(o.json, deployment, `deployment ${deployment.id} queued; follow it: denia logs ${arg} -f`)
      if (!o.json) yield* printText(`deployment ${deployment.id} queued; following its log`)
      const final = yield* followSse(o, `/v1/deployments/${deployment.id}/logs`, (lines) => {
        if (!o.json) writeLines(lines)
      })
      if (o.json) yield* printJson({ ...deployment, ...final })
      else {yield* printText(
          `deployment ${deployment.id}: ${final?.status ?? "unknown"}${final?.error !== undefined ? ` (${final.error})` : ""}`
        )}
      if (final?.status !== "healthy") {
        return yield* new ClientCommandError({ message: `deployment ${final?.status ?? "did not finish"}; see: denia logs ${arg}` })
      }
    })
).pipe(Command.withDescription("Deploy a service and follow the deployment log."))

export const deploymentsCommand = Command.make(
  "deployments",
  { ...connectionOptions, project: projectOption, service: serviceArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const list = yield* c.deployments.listForService({ path: { id: r.service.id } })
        const live = r.service.status?.liveDeploymentId ?? r.service.promotedDeploymentId
        return yield* printRows(o.json, { ...list, liveDeploymentId: live }, list.items, deploymentColumns(live))
      }))
).pipe(Command.withDescription("List a service's deployments, newest first; * marks the live one."))

export const uploadsCommand = Command.make(
  "uploads",
  { ...connectionOptions, project: projectOption, service: serviceArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const list = yield* c.uploads.list({ path: { id: r.service.id } })
        return yield* printRows(o.json, list, list.items, [
          ["id", (u) => u.id],
          ["size", (u) => formatBytes(u.bytes)],
          ["unpacked", (u) => formatBytes(u.unpackedBytes)],
          ["entries", (u) => String(u.entries)],
          ["created", (u) => u.createdAt],
          ["expires", (u) => u.expiresAt]
        ])
      }))
).pipe(
  Command.withDescription("List a service's stored uploads (newest first, until they expire); deploy one with denia deploy --upload ID.")
)

export const logsCommand = Command.make(
  "logs",
  {
    ...connectionOptions,
    project: projectOption,
    service: serviceArg,
    follow: Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("Keep streaming new lines")),
    tail: Options.integer("tail").pipe(
      Options.withPseudoName("N"),
      Options.withDefault(100),
      Options.withDescription("How many recent lines (1-10000)")
    )
  },
  (o) =>
    Effect.gen(function*() {
      const { id, snapshot } = yield* withClient(o, (c) =>
        Effect.gen(function*() {
          const id = (yield* resolveService(c, o.service, o.project)).service.id
          const snapshot = yield* c.deployments.serviceLogs({ path: { id }, urlParams: { tail: o.tail } })
          return { id, snapshot }
        }))
      if (!o.follow) return o.json ? yield* printJson(snapshot) : yield* Effect.sync(() => writeLines(snapshot.lines))
      if (o.json) return yield* new ClientCommandError({ message: "--json and --follow do not go together (the stream is lines)" })
      // the exact last N lines first, then the stream without its copy of them
      yield* Effect.sync(() => writeLines(snapshot.lines))
      const sync = makeLogSync(snapshot.lines, o.tail * 200)
      yield* followSse(o, `/v1/services/${id}/logs/stream?tail=${o.tail}`, (lines) => writeLines(sync.push(lines)))
    })
).pipe(Command.withDescription("Print a service's log (-f to follow)."))

const actionCommand = (name: "stop" | "start" | "restart" | "rollback", description: string) =>
  Command.make(
    name,
    { ...connectionOptions, project: projectOption, service: serviceArg },
    (o) =>
      withClient(o, (c) =>
        Effect.gen(function*() {
          const r = yield* resolveService(c, o.service, o.project)
          const receipt = yield* c.deployments[name]({ path: { id: r.service.id } })
          const arg = serviceArgFor(r)
          yield* printValue(
            o.json,
            receipt,
            receipt.deployment === null ? `${name} ${arg}: accepted` : `${name} ${arg}: deployment ${receipt.deployment.id} queued`
          )
          if (!o.json && receipt.deployment !== null) yield* printNote(`follow it: denia deployments ${arg}`)
        }))
  ).pipe(Command.withDescription(description))

export const actionCommands = [
  actionCommand("stop", "Stop a service (it stays stopped across restarts)."),
  actionCommand("start", "Start a stopped service again."),
  actionCommand("restart", "Replace a service's replicas with fresh ones."),
  actionCommand("rollback", "Go back to the previous deployment.")
] as const
