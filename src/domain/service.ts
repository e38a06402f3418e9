import { Effect, Either, Schema } from "effect"
import { Capabilities } from "./capabilities.js"
import { EnvMap } from "./env.js"
import { Invalid } from "./errors.js"
import { Id } from "./ids.js"
import { parseImageReference } from "./imageReference.js"
import { Limits } from "./limits.js"
import { ResourceName } from "./names.js"
import { SecretName } from "./serviceSecret.js"
import { ServiceStatus } from "./serviceStatus.js"

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

export const Port = Schema.Number.pipe(
  Schema.int({ message: () => "port must be an integer" }),
  Schema.between(1, 65535, { message: () => "port must be between 1 and 65535" })
)

const HealthTimeout = Schema.optionalWith(
  Schema.Number.pipe(Schema.int(), Schema.between(1, 3600, { message: () => "health timeoutSeconds must be between 1 and 3600" })),
  { default: () => 30 }
)

/** `GET <path>` over the replica's socket; 2xx/3xx pass. */
export const HttpHealthCheck = Schema.Struct({
  type: Schema.Literal("http"),
  path: Schema.String.pipe(
    Schema.filter((
      p
    ) => (p.startsWith("/") && p.length <= 2048 && !/[\s\0]/.test(p) ? true : "health path must start with '/' and contain no spaces"))
  ),
  timeoutSeconds: HealthTimeout
})
/** The port accepts a connection inside the replica (databases, queues). */
export const TcpHealthCheck = Schema.Struct({ type: Schema.Literal("tcp"), timeoutSeconds: HealthTimeout })
/** Workers (`port: null`): the process is still running `settleSeconds` after it started. */
export const RunningHealthCheck = Schema.Struct({
  type: Schema.Literal("running"),
  settleSeconds: Schema.optionalWith(
    Schema.Number.pipe(Schema.int(), Schema.between(0, 3600, { message: () => "health settleSeconds must be between 0 and 3600" })),
    { default: () => 5 }
  )
})

/** A stored or sent health object without `type` is the HTTP check it always was. */
const LegacyHealthType = Schema.transform(Schema.Object, Schema.Object, {
  strict: true,
  decode: (o) => ("type" in o ? o : { ...o, type: "http" }),
  encode: (o) => o
})

const timeoutJson = { type: "integer", minimum: 1, maximum: 3600, default: 30 }

export const HealthCheck = Schema.compose(LegacyHealthType, Schema.Union(HttpHealthCheck, TcpHealthCheck, RunningHealthCheck), {
  strict: false
}).annotations({
  identifier: "HealthCheck",
  // the wire form (the legacy transform hides it from the generated description)
  jsonSchema: {
    anyOf: [
      {
        type: "object",
        description: "HTTP GET of path answers 2xx/3xx (the default; an object without type is this)",
        required: ["path"],
        properties: { type: { enum: ["http"] }, path: { type: "string" }, timeoutSeconds: timeoutJson },
        additionalProperties: false
      },
      {
        type: "object",
        description: "the port accepts a TCP connection inside the replica",
        required: ["type"],
        properties: { type: { enum: ["tcp"] }, timeoutSeconds: timeoutJson },
        additionalProperties: false
      },
      {
        type: "object",
        description: "workers (port: null): the process still runs settleSeconds after it started",
        required: ["type"],
        properties: { type: { enum: ["running"] }, settleSeconds: { type: "integer", minimum: 0, maximum: 3600, default: 5 } },
        additionalProperties: false
      }
    ]
  }
})
export type HealthCheck = typeof HealthCheck.Type

export const DEFAULT_HTTP_HEALTH: HealthCheck = { type: "http", path: "/", timeoutSeconds: 30 }
export const DEFAULT_WORKER_HEALTH: HealthCheck = { type: "running", settleSeconds: 5 }

/** The health check a service gets when it names none: HTTP `/` with a port, the settle check for a worker. */
export const defaultHealth = (port: number | null): HealthCheck => (port === null ? DEFAULT_WORKER_HEALTH : DEFAULT_HTTP_HEALTH)

/** One line for people: `HTTP GET /health (30 s)`, `TCP (30 s)`, `running after 5 s`. */
export const describeHealth = (h: HealthCheck): string =>
  h.type === "http"
    ? `HTTP GET ${h.path} (${h.timeoutSeconds} s)`
    : h.type === "tcp"
    ? `TCP connect (${h.timeoutSeconds} s)`
    : `still running after ${h.settleSeconds} s`

/** `/dev/shm` size in MiB (default 64). */
export const ShmMb = Schema.Number.pipe(
  Schema.int({ message: () => "shmMb must be an integer" }),
  Schema.between(1, 16 * 1024 * 1024, { message: () => "shmMb must be between 1 and 16777216" })
)
export const DEFAULT_SHM_MB = 64

const Percent = (what: string) =>
  Schema.Number.pipe(Schema.int(), Schema.between(1, 100, { message: () => `${what} must be an integer between 1 and 100` }))
const Count = (what: string, min: number, max: number) =>
  Schema.Number.pipe(Schema.int(), Schema.between(min, max, { message: () => `${what} must be an integer between ${min} and ${max}` }))

export const Autoscale = Schema.Struct({
  minReplicas: Count("minReplicas", 0, 100),
  maxReplicas: Count("maxReplicas", 1, 100),
  cpuTargetPercent: Schema.optional(Percent("cpuTargetPercent")),
  memoryTargetPercent: Schema.optional(Percent("memoryTargetPercent")),
  scaleDownStabilizationSeconds: Schema.optional(Count("scaleDownStabilizationSeconds", 0, 86400)),
  idleSeconds: Schema.optional(Count("idleSeconds", 1, 86400 * 7))
}).pipe(
  Schema.filter((
    a
  ) => (a.minReplicas <= a.maxReplicas ? true : { path: ["minReplicas"], message: "minReplicas must not exceed maxReplicas" }))
).annotations({ identifier: "Autoscale" })
export type Autoscale = typeof Autoscale.Type

export const Endpoint = Schema.Struct({
  protocol: Schema.Literal("tcp", "udp"),
  port: Port,
  /** The node's public port forwarded to `port` (allocated from `tcp_port_range`/`udp_port_range` when not requested). */
  publicPort: Schema.optional(Port)
})
export type Endpoint = typeof Endpoint.Type
export const Endpoints = Schema.Array(Endpoint).pipe(
  Schema.maxItems(32),
  Schema.filter((eps) => {
    const seen = new Set(eps.map((e) => `${e.protocol}/${e.port}`))
    return seen.size === eps.length ? true : "endpoints must not repeat a protocol/port pair"
  })
)

/** Container paths a volume may not be mounted on or below (the runtime's own mounts). */
export const RESERVED_MOUNT_PREFIXES = ["/proc", "/sys", "/dev", "/.denia", "/run/denia"] as const

/** Why `p` is not an acceptable volume mount path, undefined when it is. */
export const mountPathProblem = (p: string): string | undefined => {
  if (p.length === 0 || p.length > 1024) return "must be an absolute path of 1-1024 characters"
  if (/[\u0000-\u001f\u007f]/.test(p)) return "must not contain control characters"
  if (!p.startsWith("/")) return "must be an absolute path"
  const parts = p.split("/").filter((c) => c !== "" && c !== ".")
  if (parts.includes("..")) return "must not contain '..'"
  const normal = `/${parts.join("/")}`
  if (normal === "/") return "must not be /"
  if (normal !== p) return `must be normalized (${JSON.stringify(normal)})`
  const reserved = RESERVED_MOUNT_PREFIXES.find((r) => p === r || p.startsWith(`${r}/`))
  return reserved === undefined ? undefined : `must not be ${reserved} or below it (reserved for the runtime)`
}

const MountPath = Schema.String.pipe(Schema.filter((p) => mountPathProblem(p) ?? true))

/** `a` is `b` or below it (both normalized absolute paths). */
const pathWithin = (a: string, b: string) => a === b || a.startsWith(`${b}/`)

export const Volume = Schema.Struct({
  name: ResourceName,
  mountPath: MountPath,
  readOnly: Schema.optionalWith(Schema.Boolean, { default: () => false })
}).annotations({ identifier: "Volume" })
export type Volume = typeof Volume.Type

/** Names and mount paths are unique, and no mount path lies below another one. */
export const Volumes = Schema.Array(Volume).pipe(
  Schema.maxItems(16, { message: () => "at most 16 volumes per service" }),
  Schema.filter((vs) => {
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i]!
      for (let j = 0; j < i; j++) {
        const w = vs[j]!
        if (w.name === v.name) return { path: [i, "name"], message: `repeats the name of volumes[${j}]` }
        if (w.mountPath === v.mountPath) return { path: [i, "mountPath"], message: `repeats the mount path of volumes[${j}]` }
        if (pathWithin(v.mountPath, w.mountPath) || pathWithin(w.mountPath, v.mountPath)) {
          return { path: [i, "mountPath"], message: `must not be nested with the mount path of volumes[${j}] (${w.mountPath})` }
        }
      }
    }
    return true
  })
).annotations({ identifier: "Volumes" })

/**
 * The editable fields of a service (the create body minus projectId) as
 * sent and stored. `health` may be left out: its default depends on `port`
 * (see `ServiceSpecDocument`).
 */
export const ServiceSpecFields = {
  source: ServiceSource,
  /** `null` = a worker: no route, no socket relay, no `PORT`. */
  port: Schema.NullOr(Port),
  env: Schema.optionalWith(EnvMap, { default: () => ({}) }),
  limits: Schema.optionalWith(Schema.NullOr(Limits), { default: () => null }),
  health: Schema.optional(HealthCheck),
  tlsEnabled: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  autoscale: Schema.optionalWith(Schema.NullOr(Autoscale), { default: () => null }),
  endpoints: Schema.optionalWith(Endpoints, { default: () => [] }),
  volumes: Schema.optionalWith(Volumes, { default: () => [] }),
  capabilities: Schema.optionalWith(Capabilities, { default: () => ({}) }),
  shmMb: Schema.optionalWith(ShmMb, { default: () => DEFAULT_SHM_MB })
}

/** The editable fields with every default applied (health resolved). */
const ResolvedSpec = Schema.typeSchema(Schema.Struct({ ...ServiceSpecFields, health: HealthCheck }))
export type ResolvedServiceSpec = typeof ResolvedSpec.Type

/** A service's stored spec document: the fields, with the health default for its kind (HTTP, or settle for workers). */
export const ServiceSpecDocument = Schema.transform(Schema.Struct(ServiceSpecFields), ResolvedSpec, {
  strict: true,
  decode: (s) => ({ ...s, health: s.health ?? defaultHealth(s.port) }),
  encode: (s) => s
})

/**
 * The rules across fields of a spec, as `{field, message}` (undefined when
 * it is acceptable): a worker has no port to check, route, or publish; a
 * service with a port is checked over it; `/dev/shm` fits the memory limit.
 */
export const specProblem = (
  spec: Pick<ResolvedServiceSpec, "port" | "health" | "tlsEnabled" | "endpoints" | "shmMb" | "limits">
): { readonly field: string; readonly message: string } | undefined => {
  if (spec.port === null) {
    if (spec.health.type !== "running") {
      return {
        field: "health.type",
        message: `a worker (port: null) has no port for ${
          spec.health.type === "http" ? "an HTTP" : "a TCP"
        } check; use {"type":"running","settleSeconds":5}`
      }
    }
    if (spec.tlsEnabled) return { field: "tlsEnabled", message: "a worker (port: null) has no HTTP route to serve over TLS" }
    if (spec.endpoints.length > 0) {
      return { field: "endpoints", message: "a worker (port: null) has no port to publish; give the service a port" }
    }
  } else if (spec.health.type === "running") {
    return { field: "health.type", message: `"running" is the check of workers (port: null); use "http" or "tcp" for port ${spec.port}` }
  }
  const memoryMb = spec.limits?.memoryMb
  if (memoryMb !== undefined && spec.shmMb > memoryMb) {
    return { field: "shmMb", message: `must not exceed limits.memoryMb (${memoryMb}): /dev/shm pages count against the memory limit` }
  }
  return undefined
}

const specRules = <A extends Parameters<typeof specProblem>[0]>(spec: A) => {
  const problem = specProblem(spec)
  return problem === undefined ? true : { path: problem.field.split("."), message: problem.message }
}

export const Service = Schema.Struct({
  id: Id,
  projectId: Id,
  name: ResourceName,
  source: ServiceSource,
  port: Schema.NullOr(Port),
  env: EnvMap,
  limits: Schema.NullOr(Limits),
  health: HealthCheck,
  tlsEnabled: Schema.Boolean,
  autoscale: Schema.NullOr(Autoscale),
  endpoints: Endpoints,
  // fields added after the first release decode with their defaults (older daemons, stored fixtures)
  capabilities: Schema.optionalWith(Capabilities, { default: () => ({}) }),
  shmMb: Schema.optionalWith(ShmMb, { default: () => DEFAULT_SHM_MB }),
  volumes: Schema.optionalWith(Volumes, { default: () => [] }),
  promotedDeploymentId: Schema.NullOr(Id),
  previousDeploymentId: Schema.NullOr(Id),
  createdAt: Schema.String,
  updatedAt: Schema.String,
  /** Live state (read responses only; never stored). */
  status: Schema.optional(ServiceStatus)
}).annotations({ identifier: "Service" })
export type Service = typeof Service.Type

const CreateServiceFields = { projectId: Id, name: ResourceName, ...ServiceSpecFields }

export const CreateService = Schema.transform(
  Schema.Struct(CreateServiceFields).annotations({ parseOptions: { onExcessProperty: "error" } }),
  Schema.typeSchema(Schema.Struct({ ...CreateServiceFields, health: HealthCheck })),
  { strict: true, decode: (s) => ({ ...s, health: s.health ?? defaultHealth(s.port) }), encode: (s) => s }
).pipe(Schema.filter(specRules)).annotations({ identifier: "CreateService", parseOptions: { onExcessProperty: "error" } })
export type CreateService = typeof CreateService.Type

/** PATCH body: any editable field; `id`/`projectId`/`name` may be present only to confirm identity. */
export const UpdateService = Schema.Struct({
  id: Schema.optional(Id),
  projectId: Schema.optional(Id),
  name: Schema.optional(ResourceName),
  source: Schema.optional(ServiceSource),
  port: Schema.optional(Schema.NullOr(Port)),
  env: Schema.optional(EnvMap),
  limits: Schema.optional(Schema.NullOr(Limits)),
  health: Schema.optional(HealthCheck),
  tlsEnabled: Schema.optional(Schema.Boolean),
  autoscale: Schema.optional(Schema.NullOr(Autoscale)),
  endpoints: Schema.optional(Endpoints),
  volumes: Schema.optional(Volumes),
  capabilities: Schema.optional(Capabilities),
  shmMb: Schema.optional(ShmMb)
}).annotations({ identifier: "UpdateService", parseOptions: { onExcessProperty: "error" } })
export type UpdateService = typeof UpdateService.Type
