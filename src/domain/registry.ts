/**
 * Project registries: credentials a project uses to pull private images.
 * Pure schemas. Raw credentials only ever appear in the *input* schemas; the
 * output schema (`Registry`) carries the kind and, at most, a username.
 *
 * Every message here is fixed text: a credential that fails validation is
 * never echoed back in an error.
 */
import { Schema } from "effect"
import { Id } from "./ids.js"
import { ResourceName } from "./names.js"

export const REGISTRY_AUTH_KINDS = ["anonymous", "basic", "token", "ecr", "gar"] as const
export const RegistryAuthKind = Schema.Literal(...REGISTRY_AUTH_KINDS).annotations({ identifier: "RegistryAuthKind" })
export type RegistryAuthKind = typeof RegistryAuthKind.Type

const isAuthKind = (s: string): s is RegistryAuthKind => (REGISTRY_AUTH_KINDS as ReadonlyArray<string>).includes(s)
const kindMessage = () => `must be one of ${REGISTRY_AUTH_KINDS.join(", ")}`

/** The kind in a request body: one message listing the kinds (instead of one failure per literal). */
const RegistryAuthKindInput = Schema.String.annotations({ message: kindMessage }).pipe(Schema.filter(isAuthKind, { message: kindMessage }))

/** `host[:port]` as it appears at the start of an image reference (`ghcr.io`, `registry.example.com:5000`). */
export const ENDPOINT_PATTERN =
  /^(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/

export const RegistryEndpoint = Schema.String.annotations({ message: () => "must be a string" }).pipe(
  Schema.filter((s) => {
    if (s.length === 0 || s.length > 253) {
      return "must be a registry host[:port] of 1-253 characters, such as ghcr.io or registry.example.com:5000"
    }
    if (!ENDPOINT_PATTERN.test(s)) {
      return "must be a registry host[:port] in lower case without scheme or path, such as ghcr.io or registry.example.com:5000"
    }
    const port = /:([0-9]+)$/.exec(s)?.[1]
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return "port must be between 1 and 65535"
    return true
  })
).annotations({ identifier: "RegistryEndpoint" })

const MAX_USERNAME = 256
const MAX_PASSWORD = 4096
const MAX_TOKEN = 16384

/** A credential string: length-bounded, no control characters. The value itself never appears in a message. */
const credentialString = (what: string, max: number) =>
  Schema.String.annotations({ message: () => `${what} must be a string` }).pipe(
    Schema.filter((s) =>
      s.length === 0
        ? `${what} must not be empty`
        : s.length > max
        ? `${what} must be at most ${max} characters`
        : /[\u0000-\u001f\u007f]/.test(s)
        ? `${what} must not contain control characters or line breaks`
        : true
    )
  )

const RegistryUsername = credentialString("username", MAX_USERNAME).pipe(
  Schema.filter((s) => (s.includes(":") ? "username must not contain ':' (HTTP Basic auth cannot carry it)" : true))
)

/** Which fields each kind needs (`required`) and which it accepts at all. */
const KIND_FIELDS: Readonly<
  Record<RegistryAuthKind, { readonly required: ReadonlyArray<"username" | "password" | "token">; readonly allowed: ReadonlyArray<string> }>
> = {
  anonymous: { required: [], allowed: [] },
  basic: { required: ["username", "password"], allowed: ["username", "password"] },
  token: { required: ["token"], allowed: ["token"] },
  ecr: { required: ["token"], allowed: ["token"] },
  gar: { required: ["token"], allowed: ["token"] }
}

// `exact`: an absent key is fine, an explicit `undefined` is not; without it a
// failing value would also be reported against the `undefined` branch, which
// echoes the value ("Expected undefined, actual ...").
const AuthFields = Schema.Struct({
  kind: RegistryAuthKindInput,
  username: Schema.optionalWith(RegistryUsername, { exact: true }),
  password: Schema.optionalWith(credentialString("password", MAX_PASSWORD), { exact: true }),
  token: Schema.optionalWith(credentialString("token", MAX_TOKEN), { exact: true })
}).annotations({ parseOptions: { onExcessProperty: "error" } })

/**
 * `auth` in a create/patch body, checked per kind: `basic` needs username and
 * password, `token`/`ecr`/`gar` need token, `anonymous` takes nothing. The
 * failing field is named in the error path (e.g. `auth.password`).
 */
export const RegistryAuthInput = AuthFields.pipe(
  Schema.filter((a) => {
    const spec = KIND_FIELDS[a.kind]
    const issues: Array<{ path: ReadonlyArray<PropertyKey>; message: string }> = []
    for (const field of spec.required) {
      if (a[field] === undefined) issues.push({ path: [field], message: `is required when kind is ${a.kind}` })
    }
    for (const field of ["username", "password", "token"] as const) {
      if (a[field] !== undefined && !spec.allowed.includes(field)) {
        issues.push({ path: [field], message: `is not accepted when kind is ${a.kind}` })
      }
    }
    return issues.length === 0 ? true : issues
  })
).annotations({ identifier: "RegistryAuthInput" })
export type RegistryAuthInput = typeof RegistryAuthInput.Type

export const CreateRegistry = Schema.Struct({
  name: ResourceName,
  endpoint: RegistryEndpoint,
  auth: RegistryAuthInput
}).annotations({ identifier: "CreateRegistry", parseOptions: { onExcessProperty: "error" } })
export type CreateRegistry = typeof CreateRegistry.Type

/** PATCH: any of the fields; `auth`, when present, replaces the stored credentials entirely. */
export const UpdateRegistry = Schema.Struct({
  name: Schema.optional(ResourceName),
  endpoint: Schema.optional(RegistryEndpoint),
  auth: Schema.optional(RegistryAuthInput)
}).annotations({ identifier: "UpdateRegistry", parseOptions: { onExcessProperty: "error" } })
export type UpdateRegistry = typeof UpdateRegistry.Type

/** What the API returns about credentials: the kind, and the username for `basic`. Never a secret. */
export const RegistryAuthSummary = Schema.Struct({
  kind: RegistryAuthKind,
  username: Schema.optional(Schema.String)
}).annotations({ identifier: "RegistryAuthSummary" })
export type RegistryAuthSummary = typeof RegistryAuthSummary.Type

export const Registry = Schema.Struct({
  id: Id,
  projectId: Id,
  name: ResourceName,
  endpoint: Schema.String,
  auth: RegistryAuthSummary,
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotations({ identifier: "Registry" })
export type Registry = typeof Registry.Type

/** A registry row as stored: `secretRef` names the SOPS file holding the raw credentials (null for anonymous). */
export interface StoredRegistry extends Registry {
  readonly secretRef: string | null
}
