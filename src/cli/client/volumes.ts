/**
 * `denia volumes ls|backup|restore|rm <service>`: a service's volumes with
 * their sizes, a streamed tar backup (to a file, with a progress bar on a
 * terminal), a restore into a stopped service, and removal. The archive
 * transfers stream over plain HTTP (the typed client would buffer them).
 */
import { Args, Command, Options } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import * as fs from "node:fs"
import { Transform } from "node:stream"
import { pipeline } from "node:stream/promises"
import type { request } from "undici"
import { formatBytes } from "../../domain/bytes.js"
import { type Connection, connectionOptions, withClient } from "./connection.js"
import { ClientCommandError, describeError } from "./errors.js"
import { printNote, printRows, printValue } from "./output.js"
import { progressBar } from "./progress.js"
import { resolveService } from "./resolve.js"
import { projectOption, serviceArg } from "./services.js"

const volumeArg = Args.text({ name: "volume" }).pipe(Args.withDescription("Volume name"))

const sizeLabel = (n: number | null) => (n === null ? "-" : formatBytes(n))

const ls = Command.make(
  "ls",
  { ...connectionOptions, project: projectOption, service: serviceArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const list = yield* c.volumes.list({ path: { id: r.service.id } })
        return yield* printRows(o.json, list, list.items, [
          ["name", (v) => v.name],
          ["mount", (v) => v.mountPath ?? "(not declared)"],
          ["mode", (v) => (v.readOnly ? "ro" : "rw")],
          ["size", (v) => (v.created ? sizeLabel(v.bytes) : "(not created)")],
          ["mounted", (v) => (v.mounted ? "yes" : "no")]
        ])
      }))
).pipe(Command.withDescription("List a service's volumes: mount path, size, whether a replica mounts it."))

const rm = Command.make(
  "rm",
  { ...connectionOptions, project: projectOption, service: serviceArg, volume: volumeArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        yield* c.volumes.remove({ path: { id: r.service.id, name: o.volume } })
        return yield* printValue(o.json, { removed: o.volume }, `removed volume ${o.volume} of ${r.project.name}/${r.service.name}`)
      }))
).pipe(Command.withDescription("Delete a volume and its data (refused while a replica mounts it)."))

const archiveUrl = (connection: Connection, serviceId: string, volume: string) =>
  `${connection.url}/v1/services/${encodeURIComponent(serviceId)}/volumes/${encodeURIComponent(volume)}/archive`

type Answer = Awaited<ReturnType<typeof request>>

/**
 * undici's `request`, loaded only when a transfer runs (it is large). In the CLI bundle the CommonJS
 * module arrives as the namespace's `default`; from the sources it has the named export.
 */
const loadRequest = async (): Promise<typeof request> => {
  const loaded: { readonly request?: typeof request; readonly default?: { readonly request?: typeof request } } = await import("undici")
  const found = loaded.request ?? loaded.default?.request
  if (typeof found !== "function") throw new ClientCommandError({ message: "the HTTP client (undici) could not be loaded" })
  return found
}

/** The API's error envelope (or the status) of a failed archive transfer, as one line. */
const failureOf = async (res: Answer) => {
  const text = await res.body.text().catch(() => "")
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === "object" && body !== null && "error" in body) return describeError(body.error)
  } catch {
    // not JSON
  }
  return `the daemon answered HTTP ${res.statusCode}`
}

const header = (res: Answer, name: string) => {
  const v = res.headers[name]
  return typeof v === "string" ? v : undefined
}

const counting = (onBytes: (n: number) => void) =>
  new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length)
      done(null, chunk)
    }
  })

const transfer = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new ClientCommandError({ message: e instanceof ClientCommandError ? e.message : `${what}: ${describeError(e)}` })
  })

const backup = Command.make(
  "backup",
  {
    ...connectionOptions,
    project: projectOption,
    service: serviceArg,
    volume: volumeArg,
    output: Options.file("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("Archive file (default <service>-<volume>.tar[.zst])"),
      Options.optional
    ),
    zstd: Options.boolean("zstd").pipe(Options.withDescription("Compress with zstd on the daemon"))
  },
  (o) =>
    withClient(o, (c, connection) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const file = Option.getOrElse(o.output, () => `${r.service.name}-${o.volume}.tar${o.zstd ? ".zst" : ""}`)
        const result = yield* transfer("backup", async () => {
          const request = await loadRequest()
          const res = await request(`${archiveUrl(connection, r.service.id, o.volume)}${o.zstd ? "?compress=zstd" : ""}`, {
            headers: { authorization: `Bearer ${Redacted.value(connection.token)}` }
          })
          if (res.statusCode !== 200) throw new ClientCommandError({ message: await failureOf(res) })
          const snapshot = header(res, "x-denia-snapshot") ?? "unknown"
          const estimate = Number(header(res, "x-denia-volume-bytes"))
          const bar = progressBar(`backup ${o.volume}`, Number.isSafeInteger(estimate) && estimate > 0 ? estimate : null, {
            estimate: true
          })
          let bytes = 0
          const tmp = `${file}.partial`
          await pipeline(
            res.body,
            counting((n) => {
              bytes += n
              bar.add(n)
            }),
            fs.createWriteStream(tmp, { mode: 0o600 })
          )
          bar.done()
          fs.renameSync(tmp, file)
          return { file, bytes, snapshot }
        })
        if (result.snapshot === "live") {
          yield* printNote("note: the service was running, so this is a live copy; stop the service for a consistent backup")
        }
        return yield* printValue(o.json, result, `wrote ${result.file} (${formatBytes(result.bytes)}, ${result.snapshot} snapshot)`)
      }))
).pipe(Command.withDescription("Download a volume as a tar archive (consistent when the service is stopped)."))

const restore = Command.make(
  "restore",
  {
    ...connectionOptions,
    project: projectOption,
    service: serviceArg,
    volume: volumeArg,
    file: Args.file({ name: "file", exists: "yes" }).pipe(Args.withDescription("A tar or tar.zst archive"))
  },
  (o) =>
    withClient(o, (c, connection) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const result = yield* transfer("restore", async () => {
          const size = fs.statSync(o.file).size
          const bar = progressBar(`restore ${o.volume}`, size)
          const body = fs.createReadStream(o.file).pipe(counting(bar.add))
          const request = await loadRequest()
          const res = await request(archiveUrl(connection, r.service.id, o.volume), {
            method: "PUT",
            headers: {
              authorization: `Bearer ${Redacted.value(connection.token)}`,
              "content-type": "application/x-tar",
              "content-length": String(size)
            },
            body
          })
          bar.done()
          if (res.statusCode !== 200) throw new ClientCommandError({ message: await failureOf(res) })
          const answer: unknown = await res.body.json()
          const entries = typeof answer === "object" && answer !== null && "entries" in answer && typeof answer.entries === "number"
            ? answer.entries
            : 0
          return { volume: o.volume, entries }
        })
        return yield* printValue(
          o.json,
          result,
          `restored ${result.entries} entries into volume ${o.volume} of ${r.project.name}/${r.service.name}; start the service to use it`
        )
      }))
).pipe(Command.withDescription("Replace a volume's contents with an archive (the service must be stopped)."))

export const volumesCommand = Command.make("volumes").pipe(
  Command.withDescription("A service's volumes: list, back up, restore, delete."),
  Command.withSubcommands([ls, backup, restore, rm])
)
