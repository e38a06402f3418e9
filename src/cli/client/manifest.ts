/**
 * The `.denia` manifest of a project directory (SPEC §20), TOML:
 *
 * ```toml
 * project = "default"
 * service = "web"
 * dockerfile = "Dockerfile"   # relative to context
 * context = "."               # relative to the manifest's directory
 *
 * [create]                    # defaults for `denia create` / `denia push --create`
 * port = 8080
 * health_path = "/"
 * ```
 */
import { Effect, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { parse, stringify } from "smol-toml"
import { ResourceName } from "../../domain/names.js"
import { ClientCommandError } from "./errors.js"
import { relativePathProblem } from "./relativePath.js"

export const MANIFEST_FILE = ".denia"

const RelativePath = Schema.String.pipe(Schema.filter((p) => relativePathProblem(p) ?? true))

export const Manifest = Schema.Struct({
  project: ResourceName,
  service: ResourceName,
  dockerfile: Schema.optionalWith(RelativePath, { default: () => "Dockerfile" }),
  context: Schema.optionalWith(RelativePath, { default: () => "." }),
  create: Schema.optionalWith(
    Schema.Struct({
      port: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.between(1, 65535)), { default: () => 8080 }),
      health_path: Schema.optional(Schema.String.pipe(Schema.startsWith("/")))
    }),
    { default: () => ({ port: 8080 }) }
  )
})
export type Manifest = typeof Manifest.Type

const problem = (e: unknown) => (e instanceof Error ? e.message.split("\n")[0] ?? "" : String(e))

/** The nearest `.denia` from `start` upwards: its path and contents. */
export const findManifest = (start: string) =>
  Effect.gen(function*() {
    let dir = path.resolve(start)
    for (let i = 0; i < 64; i++) {
      const file = path.join(dir, MANIFEST_FILE)
      const text = yield* Effect.promise(() => fs.readFile(file, "utf8").catch(() => undefined))
      if (text !== undefined) {
        const raw = yield* Effect.try({
          try: () => parse(text),
          catch: (e) => new ClientCommandError({ message: `${file}: not TOML: ${problem(e)}` })
        })
        const manifest = yield* Schema.decodeUnknown(Manifest, { onExcessProperty: "error" })(raw).pipe(
          Effect.mapError((e) => new ClientCommandError({ message: `${file}: ${e.message.split("\n").slice(-1)[0] ?? "invalid"}` }))
        )
        return { file, dir, manifest }
      }
      const parent = path.dirname(dir)
      if (parent === dir) break
      dir = parent
    }
    return yield* new ClientCommandError({ message: `no ${MANIFEST_FILE} here or above; run \`denia init\` first` })
  })

export const renderManifest = (m: Manifest): string =>
  [
    "# Denia project manifest (denia init). `denia push` uploads `context` and builds `dockerfile` from it.",
    stringify({ project: m.project, service: m.service, dockerfile: m.dockerfile, context: m.context }),
    "",
    "# Defaults for `denia create` and `denia push --create`.",
    stringify({ create: m.create }),
    ""
  ].join("\n")

/** The create body of the manifest's service (source type upload). */
export const createBodyOf = (m: Manifest, projectId: string) => ({
  projectId,
  name: m.service,
  source: { type: "upload" as const, dockerfile: m.dockerfile },
  port: m.create.port,
  ...(m.create.health_path === undefined ? {} : { health: { path: m.create.health_path } })
})
