import { Schema } from "effect"
import { Capabilities } from "./capabilities.js"
import { EnvMap } from "./env.js"
import { defaultHealth, HealthCheck } from "./healthCheck.js"
import { Id } from "./ids.js"
import { Limits } from "./limits.js"
import { ResourceName } from "./names.js"
import { ServiceSource } from "./serviceSource.js"
import { ServiceStatus } from "./serviceStatus.js"

export * from "./healthCheck.js"
export * from "./serviceSource.js"

export const Port = Schema.Number.pipe(
  Schema.int({ message: () => "port must be an integer" }),
  Schema.between(1, 65535, { message: () => "port must be between 1 and 65535" })
)

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
