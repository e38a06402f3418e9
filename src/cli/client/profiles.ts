/**
 * Client profiles in `~/.config/denia/client.toml` (0600): named `{url, token}`
 * pairs and the active one. Nothing else is stored.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parse, stringify } from "smol-toml"
import { clientFilePath } from "../../config/environment.js"
import { ensureDirectory, writeFileAtomic } from "../../platform/atomicWrite.js"

export class ProfileError extends Schema.TaggedError<ProfileError>()("ProfileError", { message: Schema.String }) {}

const Profile = Schema.Struct({ url: Schema.String, token: Schema.String })
const ClientFile = Schema.Struct({
  active: Schema.optional(Schema.String),
  profiles: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Profile }), { default: () => ({}) })
})
export type ClientFile = typeof ClientFile.Type
export type Profile = typeof Profile.Type

export const PROFILE_NAME = /^[A-Za-z0-9_-]{1,64}$/

export const readClientFile = (file: string = clientFilePath()): Effect.Effect<ClientFile, ProfileError> =>
  Effect.gen(function*() {
    if (!fs.existsSync(file)) return { profiles: {} }
    const raw = yield* Effect.try({
      try: () => parse(fs.readFileSync(file, "utf8")),
      catch: (e) => new ProfileError({ message: `${file} is not valid TOML: ${(e as Error).message.split("\n")[0]}` })
    })
    return yield* Schema.decodeUnknown(ClientFile)(raw).pipe(
      Effect.mapError(() => new ProfileError({ message: `${file} has an unexpected shape` }))
    )
  })

export const writeClientFile = (content: ClientFile, file: string = clientFilePath()): Effect.Effect<void, ProfileError> =>
  Effect.gen(function*() {
    const table: Record<string, unknown> = { profiles: content.profiles }
    if (content.active !== undefined) table["active"] = content.active
    yield* ensureDirectory(path.dirname(file), 0o700, false)
    yield* writeFileAtomic(file, Buffer.from(stringify(table), "utf8"), { mode: 0o600 })
  }).pipe(
    Effect.provide(NodeFileSystem.layer),
    Effect.mapError((e) => new ProfileError({ message: `cannot write ${file}: ${e.message}` }))
  )

/** The named profile, or the active one when `name` is undefined. */
export const selectProfile = (content: ClientFile, name: string | undefined): Profile | undefined => {
  const key = name ?? content.active
  return key === undefined ? undefined : content.profiles[key]
}
