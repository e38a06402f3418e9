/**
 * Build secrets (ADR 0806): the service secrets a source names in `buildSecrets` are decrypted for one
 * build, written as 0600 files into a private 0700 directory under the builds' temp dir and handed to
 * `buildah build --secret id=<id>,src=<file>`, which mounts each at `/run/secrets/<id>` for the
 * `RUN --mount=type=secret,id=<id>` steps only (never into a layer). The directory is removed when the
 * build's scope closes; the values join the redaction list of the build output.
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { BuildSecret } from "../domain/service.js"
import { ServiceSecretsRepo } from "../repos/ServiceSecretsRepo.js"
import { SecretStore } from "../secrets/SecretStore.js"
import { BuildFailed } from "./errors.js"

export interface ResolvedBuildSecret {
  readonly id: string
  readonly value: string
}

export interface BuildSecretFiles {
  /** Extra `buildah build` arguments: `--secret id=<id>,src=<file>` per secret. */
  readonly args: ReadonlyArray<string>
  /** What the build output must never show (each value, and each of its longer lines). */
  readonly masks: ReadonlyArray<string>
}

const failed = (index: number, message: string, cause?: unknown) =>
  new BuildFailed({ message: `source.buildSecrets[${index}].secret: ${message}`, ...(cause === undefined ? {} : { cause }) })

/** Decrypts the named service secrets; a missing or unreadable one fails the build naming the field. */
export const resolveBuildSecrets = (
  service: { readonly serviceId: string; readonly projectId: string },
  secrets: ReadonlyArray<BuildSecret>
) =>
  Effect.gen(function*() {
    if (secrets.length === 0) return []
    const repo = yield* ServiceSecretsRepo
    const store = yield* SecretStore
    return yield* Effect.forEach(secrets, (s, i) =>
      Effect.gen(function*() {
        const row = yield* repo.find(service.serviceId, s.secret).pipe(
          Effect.mapError((e) => failed(i, `cannot read secret ${s.secret}`, e))
        )
        if (Option.isNone(row)) return yield* failed(i, `the service has no secret named ${s.secret}; set it, then deploy again`)
        const payload = yield* store.get(service.projectId, row.value.secretRef).pipe(
          Effect.mapError((e) => failed(i, `secret ${s.secret} cannot be decrypted`, e))
        )
        if (typeof payload !== "string") return yield* failed(i, `secret ${s.secret} is not a single value`)
        return { id: s.id, value: payload } satisfies ResolvedBuildSecret
      }))
  })

/** Every value, and each line of a multi-line value long enough not to mask ordinary words. */
export const secretMasks = (secrets: ReadonlyArray<ResolvedBuildSecret>): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (const s of secrets) {
    if (s.value !== "") out.add(s.value)
    for (const line of s.value.split(/\r?\n/)) if (line.trim().length >= 6) out.add(line.trim())
  }
  // longest first, so a value is masked whole before one of its lines is
  return [...out].sort((a, b) => b.length - a.length)
}

/** Writes the secret files into a fresh private directory under `tmpRoot`, removed when the scope closes. */
export const acquireBuildSecretFiles = (tmpRoot: string, secrets: ReadonlyArray<ResolvedBuildSecret>) =>
  secrets.length === 0
    ? Effect.succeed<BuildSecretFiles>({ args: [], masks: [] })
    : Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          await fs.mkdir(tmpRoot, { recursive: true, mode: 0o700 })
          const dir = await fs.mkdtemp(path.join(tmpRoot, "secrets-"))
          const args: Array<string> = []
          try {
            await fs.chmod(dir, 0o700)
            for (const [i, s] of secrets.entries()) {
              // the file name is an index, never the id: nothing of the Dockerfile's choosing reaches a path
              const file = path.join(dir, `s${i}`)
              await fs.writeFile(file, s.value, { mode: 0o600, flag: "wx" })
              args.push("--secret", `id=${s.id},src=${file}`)
            }
          } catch (e) {
            await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
            throw e
          }
          return { dir, args }
        },
        catch: (cause) => new BuildFailed({ message: "cannot prepare the build secrets", cause })
      }),
      ({ dir }) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }).catch(() => undefined))
    ).pipe(Effect.map(({ args }): BuildSecretFiles => ({ args, masks: secretMasks(secrets) })))
