/**
 * Where a service's image comes from: a registry image, the hosted registry, a Git repository or an
 * upload, with the checks on image references, context paths, Git URLs and refs, build secrets and
 * auto-deploy settings.
 */
import { Effect, Either, Schema } from "effect"
import { Invalid } from "./errors.js"
import { Id } from "./ids.js"
import { parseImageReference } from "./imageReference.js"
import { SecretName } from "./serviceSecret.js"

const NonEmpty = (what: string, max = 1024) =>
  Schema.String.pipe(
    Schema.filter((s) => (s.length === 0
      ? `${what} must not be empty`
      : s.length > max
      ? `${what} must be at most ${max} characters`
      : s.includes("\0")
      ? `${what} must not contain NUL`
      : true)
    )
  )

/** Why `s` is not an acceptable image reference, undefined when it is (control characters are refused first). */
export const imageReferenceProblem = (s: string): string | undefined => {
  if (s.length === 0 || s.length > 512) return "must be an image reference of 1-512 characters"
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) return "must not contain control characters"
  // the same parser the OCI client pulls with (pure, no I/O)
  const parsed = parseImageReference(s)
  return Either.isLeft(parsed) ? `image reference ${JSON.stringify(s)} is invalid: ${parsed.left}` : undefined
}

/** `Invalid` on `field` unless `s` is an image reference the service image would accept. */
export const validateImageReference = (field: string, s: string): Effect.Effect<void, Invalid> => {
  const problem = imageReferenceProblem(s)
  return problem === undefined ? Effect.void : Effect.fail(new Invalid({ field, message: problem }))
}

const ImageReference = Schema.String.pipe(
  Schema.filter((s) => imageReferenceProblem(s) ?? true)
).annotations({ identifier: "ImageReference" })

const Tag = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: () => "tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}" })
)

/** A path inside a build context: relative, no `..`, no NUL. */
const ContextPath = Schema.String.pipe(
  Schema.filter((s) =>
    s.length === 0 || s.length > 1024 || s.includes("\0")
      ? "must be a non-empty relative path"
      : s.startsWith("/")
      ? "must be a relative path, not absolute"
      : s.split("/").includes("..")
      ? "must not contain '..'"
      : true
  )
)

const GitUrl = Schema.String.pipe(
  Schema.filter((s) => {
    if (s.length > 2048) return "git url must be at most 2048 characters"
    if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(s)) return true
    try {
      const u = new URL(s)
      if (u.protocol !== "https:" && u.protocol !== "ssh:") return "git url must use https:// or ssh:// (or user@host:path)"
      // a token in the URL would end up in logs and process lists: it belongs in a service secret (credentialRef)
      if (u.password !== "" || (u.protocol === "https:" && u.username !== "")) {
        return "git url must not carry credentials; store the token as a service secret and name it in credentialRef"
      }
      return true
    } catch {
      return "git url must be an https:// or ssh:// URL (or user@host:path)"
    }
  })
)

export const ImageSource = Schema.Struct({
  type: Schema.Literal("image"),
  image: ImageReference,
  registryId: Schema.optionalWith(Schema.NullOr(Id), { default: () => null })
})
export const HostedSource = Schema.Struct({
  type: Schema.Literal("hosted"),
  tag: Schema.optionalWith(Tag, { default: () => "latest" })
})
/** A branch, tag, `HEAD` or commit id git is asked for: no option look-alikes (`-…`), no refspecs (`:`), no `..`. */
export const GitRef = Schema.String.pipe(
  Schema.filter((s) =>
    /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/+@-]{1,255}$/.test(s)
      ? true
      : "ref must be a branch, tag or commit name of 1-255 characters [A-Za-z0-9._/+@-], not starting with '-' and without '..'"
  )
)

/**
 * Deploy a Git source when its remote changes (SPEC §10): `webhook` (the
 * per-service hook URL) or `poll` (`git ls-remote` every `intervalSeconds`).
 * Either follows `branch` (default: the source's `ref`) or, with
 * `tagPattern`, the highest tag matching the glob.
 */
export const AutoDeploy = Schema.Struct({
  mode: Schema.Literal("webhook", "poll"),
  branch: Schema.optional(GitRef),
  tagPattern: Schema.optional(
    Schema.String.pipe(
      Schema.filter((s) =>
        /^[A-Za-z0-9._/+@*?-]{1,128}$/.test(s) ? true : "tagPattern must be a glob of 1-128 characters [A-Za-z0-9._/+@-] with * and ?"
      )
    )
  ),
  intervalSeconds: Schema.optional(
    Schema.Number.pipe(
      Schema.int(),
      Schema.between(10, 86400, { message: () => "intervalSeconds must be an integer between 10 and 86400" })
    )
  )
}).pipe(
  Schema.filter((a) =>
    a.branch !== undefined && a.tagPattern !== undefined
      ? { path: ["tagPattern"], message: "tagPattern and branch exclude each other" }
      : true
  )
).annotations({ identifier: "AutoDeploy" })
export type AutoDeploy = typeof AutoDeploy.Type

/**
 * A build secret (ADR 0806): the service secret `secret` is offered to the Dockerfile's
 * `RUN --mount=type=secret,id=<id>` steps (file `/run/secrets/<id>`) during builds only — never in a layer,
 * the build log or the replica's environment.
 */
export const BuildSecret = Schema.Struct({
  id: Schema.String.pipe(
    Schema.pattern(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
      message: () => "must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"
    })
  ),
  secret: SecretName
}).annotations({ identifier: "BuildSecret", parseOptions: { onExcessProperty: "error" } })
export type BuildSecret = typeof BuildSecret.Type

/** At most 16, ids unique. */
export const BuildSecrets = Schema.Array(BuildSecret).pipe(
  Schema.maxItems(16, { message: () => "at most 16 build secrets per service" }),
  Schema.filter((list) => {
    for (let i = 0; i < list.length; i++) {
      const j = list.findIndex((o) => o.id === list[i]?.id)
      if (j < i) return { path: [i, "id"], message: `repeats the id of buildSecrets[${j}]` }
    }
    return true
  })
).annotations({ identifier: "BuildSecrets" })

export const GitSource = Schema.Struct({
  type: Schema.Literal("git"),
  url: GitUrl,
  ref: Schema.optionalWith(GitRef, { default: () => "HEAD" }),
  dockerfile: Schema.optionalWith(ContextPath, { default: () => "Dockerfile" }),
  context: Schema.optionalWith(ContextPath, { default: () => "." }),
  /** Name of a service secret holding the credential: an HTTPS token (`token` or `user:token`) or an SSH private key. */
  credentialRef: Schema.optional(Schema.NullOr(NonEmpty("credentialRef", 128))),
  autoDeploy: Schema.optional(Schema.NullOr(AutoDeploy)),
  buildSecrets: Schema.optional(BuildSecrets)
})
export const UploadSource = Schema.Struct({
  type: Schema.Literal("upload"),
  dockerfile: Schema.optionalWith(ContextPath, { default: () => "Dockerfile" }),
  context: Schema.optionalWith(ContextPath, { default: () => "." }),
  buildSecrets: Schema.optional(BuildSecrets)
})

/** The build secrets a source names (none for image and hosted sources). */
export const buildSecretsOf = (source: ServiceSource): ReadonlyArray<BuildSecret> =>
  source.type === "git" || source.type === "upload" ? source.buildSecrets ?? [] : []

export const ServiceSource = Schema.Union(ImageSource, HostedSource, GitSource, UploadSource).annotations({
  identifier: "ServiceSource"
})
export type ServiceSource = typeof ServiceSource.Type
