/**
 * The service form's model, kept apart from the view so it can be tested on
 * its own: what the inputs hold (strings, as typed), how that becomes the
 * API's service spec, how a service becomes form state for editing, and how
 * error issues find the input they belong to.
 */
import type { Capabilities } from "../../../src/domain/capabilities.js"
import { type BuildSecret, buildSecretsOf, type HealthCheck, type Service, type ServiceSource } from "../../../src/domain/service.js"
import { formVolumes, volumeIssues, type VolumeRow, volumeRowsOf } from "./volumeForm.js"

export type SourceType = ServiceSource["type"]
export const SOURCE_TYPES: ReadonlyArray<{ readonly value: SourceType; readonly label: string; readonly hint: string }> = [
  { value: "image", label: "Image", hint: "Pull an OCI image from a registry" },
  { value: "hosted", label: "Hosted", hint: "Push to Denia's own registry (<project>/<service>)" },
  { value: "git", label: "Git", hint: "Build a Dockerfile from a Git repository" },
  { value: "upload", label: "Upload", hint: "Build a Dockerfile from an uploaded archive" }
]

export interface Pair {
  readonly key: string
  readonly value: string
}
export interface EndpointRow {
  readonly protocol: "tcp" | "udp"
  readonly port: string
}

export interface ServiceFormState {
  readonly projectId: string
  readonly name: string
  readonly sourceType: SourceType
  readonly image: string
  readonly registryId: string
  readonly tag: string
  readonly gitUrl: string
  readonly gitRef: string
  readonly gitDockerfile: string
  readonly gitContext: string
  readonly gitCredentialRef: string
  /** Build secrets of a git or upload source as typed: `id=secret` (or `name` for both), separated by spaces or commas. */
  readonly buildSecrets: string
  /** Git auto-deploy: "" = off. */
  readonly gitAutoDeploy: "" | "webhook" | "poll"
  readonly gitAutoBranch: string
  readonly gitAutoTagPattern: string
  readonly gitAutoInterval: string
  readonly uploadDockerfile: string
  readonly uploadContext: string
  /** A worker has no port: no route, no socket, health = still running after the settle time. */
  readonly worker: boolean
  readonly port: string
  readonly env: ReadonlyArray<Pair>
  readonly cpuMillis: string
  readonly memoryMb: string
  readonly pids: string
  readonly healthType: "http" | "tcp"
  readonly healthPath: string
  readonly healthTimeout: string
  readonly settleSeconds: string
  /** Capability names, separated by spaces or commas. */
  readonly capAdd: string
  readonly capDrop: string
  readonly shmMb: string
  readonly tlsEnabled: boolean
  readonly autoscaleEnabled: boolean
  readonly minReplicas: string
  readonly maxReplicas: string
  readonly cpuTargetPercent: string
  readonly memoryTargetPercent: string
  readonly scaleDownStabilizationSeconds: string
  readonly idleSeconds: string
  readonly endpoints: ReadonlyArray<EndpointRow>
  readonly volumes: ReadonlyArray<VolumeRow>
}

export const emptyServiceForm = (projectId = ""): ServiceFormState => ({
  projectId,
  name: "",
  sourceType: "image",
  image: "",
  registryId: "",
  tag: "latest",
  gitUrl: "",
  gitRef: "HEAD",
  gitDockerfile: "Dockerfile",
  gitContext: ".",
  gitCredentialRef: "",
  buildSecrets: "",
  gitAutoDeploy: "",
  gitAutoBranch: "",
  gitAutoTagPattern: "",
  gitAutoInterval: "",
  uploadDockerfile: "Dockerfile",
  uploadContext: ".",
  worker: false,
  port: "8080",
  env: [],
  cpuMillis: "",
  memoryMb: "",
  pids: "",
  healthType: "http",
  healthPath: "/",
  healthTimeout: "30",
  settleSeconds: "5",
  capAdd: "",
  capDrop: "",
  shmMb: "64",
  tlsEnabled: false,
  autoscaleEnabled: false,
  minReplicas: "1",
  maxReplicas: "1",
  cpuTargetPercent: "",
  memoryTargetPercent: "",
  scaleDownStabilizationSeconds: "",
  idleSeconds: "",
  endpoints: [],
  volumes: []
})

const str = (n: number | undefined | null): string => (n === undefined || n === null ? "" : String(n))

export const serviceToForm = (s: Service): ServiceFormState => {
  const base = emptyServiceForm(s.projectId)
  const src = s.source
  return {
    ...base,
    name: s.name,
    sourceType: src.type,
    ...(src.type === "image" ? { image: src.image, registryId: src.registryId ?? "" } : {}),
    ...(src.type === "hosted" ? { tag: src.tag } : {}),
    ...(src.type === "git"
      ? {
        gitUrl: src.url,
        gitRef: src.ref,
        gitDockerfile: src.dockerfile,
        gitContext: src.context,
        gitCredentialRef: src.credentialRef ?? "",
        gitAutoDeploy: src.autoDeploy?.mode ?? "",
        gitAutoBranch: src.autoDeploy?.branch ?? "",
        gitAutoTagPattern: src.autoDeploy?.tagPattern ?? "",
        gitAutoInterval: str(src.autoDeploy?.intervalSeconds)
      }
      : {}),
    ...(src.type === "upload" ? { uploadDockerfile: src.dockerfile, uploadContext: src.context } : {}),
    buildSecrets: buildSecretsText(buildSecretsOf(src)),
    worker: s.port === null,
    port: s.port === null ? base.port : String(s.port),
    env: Object.entries(s.env).map(([key, value]) => ({ key, value })),
    cpuMillis: str(s.limits?.cpuMillis),
    memoryMb: str(s.limits?.memoryMb),
    pids: str(s.limits?.pids),
    healthType: s.health.type === "tcp" ? "tcp" : "http",
    healthPath: s.health.type === "http" ? s.health.path : base.healthPath,
    healthTimeout: s.health.type === "running" ? base.healthTimeout : String(s.health.timeoutSeconds),
    settleSeconds: s.health.type === "running" ? String(s.health.settleSeconds) : base.settleSeconds,
    capAdd: (s.capabilities.add ?? []).join(" "),
    capDrop: (s.capabilities.drop ?? []).join(" "),
    shmMb: String(s.shmMb),
    tlsEnabled: s.tlsEnabled,
    autoscaleEnabled: s.autoscale !== null,
    minReplicas: str(s.autoscale?.minReplicas ?? 1),
    maxReplicas: str(s.autoscale?.maxReplicas ?? 1),
    cpuTargetPercent: str(s.autoscale?.cpuTargetPercent),
    memoryTargetPercent: str(s.autoscale?.memoryTargetPercent),
    scaleDownStabilizationSeconds: str(s.autoscale?.scaleDownStabilizationSeconds),
    idleSeconds: str(s.autoscale?.idleSeconds),
    endpoints: s.endpoints.map((e) => ({ protocol: e.protocol, port: String(e.port) })),
    volumes: volumeRowsOf(s.volumes)
  }
}

/**
 * A number as typed: "" is absent, anything else goes through `Number` so the
 * API schema (run by the typed client before sending) reports what is wrong
 * ("port must be an integer") at the right field.
 */
const num = (s: string): number => (s.trim() === "" ? Number.NaN : Number(s.trim()))
const optNum = (s: string): number | undefined => (s.trim() === "" ? undefined : Number(s.trim()))

/** The auto-deploy settings of a git source (nothing when off); blank inputs are left out. */
const gitAutoDeployOf = (f: ServiceFormState) => {
  if (f.gitAutoDeploy === "") return {}
  const branch = f.gitAutoBranch.trim()
  const tagPattern = f.gitAutoTagPattern.trim()
  const interval = optNum(f.gitAutoInterval)
  return {
    autoDeploy: {
      mode: f.gitAutoDeploy,
      ...(branch === "" ? {} : { branch }),
      ...(tagPattern === "" ? {} : { tagPattern }),
      ...(interval === undefined || f.gitAutoDeploy !== "poll" ? {} : { intervalSeconds: interval })
    }
  }
}

/** `[{id: "tok", secret: "NPM_TOKEN"}]` → `tok=NPM_TOKEN` (an id equal to its secret is written once). */
export const buildSecretsText = (list: ReadonlyArray<BuildSecret>): string =>
  list.map((b) => (b.id === b.secret ? b.id : `${b.id}=${b.secret}`)).join(" ")

/** The inverse of `buildSecretsText`; left out when blank (the API checks each id and secret name). */
const formBuildSecrets = (f: ServiceFormState): { readonly buildSecrets?: ReadonlyArray<BuildSecret> } => {
  const items = f.buildSecrets.split(/[\s,]+/).filter((x) => x !== "")
  if (items.length === 0) return {}
  return {
    buildSecrets: items.map((item) => {
      const eq = item.indexOf("=")
      return eq < 0 ? { id: item, secret: item } : { id: item.slice(0, eq), secret: item.slice(eq + 1) }
    })
  }
}

export const formSource = (f: ServiceFormState): ServiceSource => {
  switch (f.sourceType) {
    case "image":
      return { type: "image", image: f.image.trim(), registryId: f.registryId === "" ? null : f.registryId }
    case "hosted":
      return { type: "hosted", tag: f.tag.trim() === "" ? "latest" : f.tag.trim() }
    case "git":
      return {
        type: "git",
        url: f.gitUrl.trim(),
        ref: f.gitRef.trim() === "" ? "HEAD" : f.gitRef.trim(),
        dockerfile: f.gitDockerfile.trim() === "" ? "Dockerfile" : f.gitDockerfile.trim(),
        context: f.gitContext.trim() === "" ? "." : f.gitContext.trim(),
        credentialRef: f.gitCredentialRef.trim() === "" ? null : f.gitCredentialRef.trim(),
        // off = left out (the source is replaced as a whole, so an edit that turns it off drops it)
        ...gitAutoDeployOf(f),
        ...formBuildSecrets(f)
      }
    case "upload":
      return {
        type: "upload",
        dockerfile: f.uploadDockerfile.trim() === "" ? "Dockerfile" : f.uploadDockerfile.trim(),
        context: f.uploadContext.trim() === "" ? "." : f.uploadContext.trim(),
        ...formBuildSecrets(f)
      }
  }
}

/** `NET_ADMIN, sys_nice` → `["NET_ADMIN", "sys_nice"]` (the API canonicalises and checks each name). */
const capList = (s: string): ReadonlyArray<string> => s.split(/[\s,]+/).filter((x) => x !== "")

export const formHealth = (f: ServiceFormState): HealthCheck =>
  f.worker
    ? { type: "running", settleSeconds: num(f.settleSeconds) }
    : f.healthType === "tcp"
    ? { type: "tcp", timeoutSeconds: num(f.healthTimeout) }
    : { type: "http", path: f.healthPath, timeoutSeconds: num(f.healthTimeout) }

const formCapabilities = (f: ServiceFormState): Capabilities => {
  const add = capList(f.capAdd)
  const drop = capList(f.capDrop)
  return { ...(add.length === 0 ? {} : { add }), ...(drop.length === 0 ? {} : { drop }) }
}

/** The editable part of a service, as the API's create/update bodies take it. */
export const formToSpec = (f: ServiceFormState) => {
  const cpuMillis = optNum(f.cpuMillis)
  const memoryMb = optNum(f.memoryMb)
  const pids = optNum(f.pids)
  const limits = {
    ...(cpuMillis === undefined ? {} : { cpuMillis }),
    ...(memoryMb === undefined ? {} : { memoryMb }),
    ...(pids === undefined ? {} : { pids })
  }
  const cpuTargetPercent = optNum(f.cpuTargetPercent)
  const memoryTargetPercent = optNum(f.memoryTargetPercent)
  const scaleDownStabilizationSeconds = optNum(f.scaleDownStabilizationSeconds)
  const idleSeconds = optNum(f.idleSeconds)
  return {
    source: formSource(f),
    port: f.worker ? null : num(f.port),
    env: Object.fromEntries(f.env.filter((p) => p.key !== "" || p.value !== "").map((p) => [p.key, p.value])),
    limits: Object.keys(limits).length === 0 ? null : limits,
    health: formHealth(f),
    tlsEnabled: f.tlsEnabled,
    autoscale: f.autoscaleEnabled
      ? {
        minReplicas: num(f.minReplicas),
        maxReplicas: num(f.maxReplicas),
        ...(cpuTargetPercent === undefined ? {} : { cpuTargetPercent }),
        ...(memoryTargetPercent === undefined ? {} : { memoryTargetPercent }),
        ...(scaleDownStabilizationSeconds === undefined ? {} : { scaleDownStabilizationSeconds }),
        ...(idleSeconds === undefined ? {} : { idleSeconds })
      }
      : null,
    endpoints: f.endpoints.map((e) => ({ protocol: e.protocol, port: num(e.port) })),
    volumes: formVolumes(f.volumes),
    capabilities: formCapabilities(f),
    shmMb: num(f.shmMb)
  }
}

export const formToCreate = (f: ServiceFormState) => ({ projectId: f.projectId, name: f.name.trim(), ...formToSpec(f) })

/**
 * Env rows checked before sending: a key typed twice would silently collapse
 * into one, and the schema's record-key refusal reads poorly ("is unexpected"),
 * so the key rules of the API (non-empty, no '=', no NUL) are said plainly here.
 */
export const envIssues = (rows: ReadonlyArray<Pair>, field = "env"): ReadonlyArray<{ field: string; message: string }> => {
  const seen = new Set<string>()
  for (const p of rows) {
    if (p.key === "" && p.value === "") continue
    if (p.key === "") return [{ field, message: "env keys must not be empty" }]
    if (p.key.includes("=")) return [{ field, message: `env key ${JSON.stringify(p.key)} must not contain '='` }]
    if (p.key.includes("\0") || p.value.includes("\0")) return [{ field, message: "env keys and values must not contain NUL" }]
    if (seen.has(p.key)) return [{ field, message: `env key ${JSON.stringify(p.key)} is listed twice` }]
    seen.add(p.key)
  }
  return []
}

export const localIssues = (f: ServiceFormState): ReadonlyArray<{ field: string; message: string }> => [
  ...envIssues(f.env),
  ...volumeIssues(f.volumes, f.autoscaleEnabled ? optNum(f.maxReplicas) : undefined)
]

/**
 * The message for an input: an issue at exactly that path, or under it
 * (`env["A=B"]` belongs to `env`, `endpoints[1].port` to `endpoints`).
 */
export const errorFor = (issues: Readonly<Record<string, string>>, field: string): string | undefined => {
  const exact = issues[field]
  if (exact !== undefined) return exact
  for (const [path, message] of Object.entries(issues)) {
    if (path.startsWith(`${field}.`) || path.startsWith(`${field}[`)) return message
  }
  return undefined
}

/** Inputs the form shows an error under; anything else is shown at the top of the form. */
export const FORM_FIELDS: ReadonlyArray<string> = [
  "projectId",
  "name",
  "source",
  "port",
  "env",
  "limits",
  "health",
  "tlsEnabled",
  "autoscale",
  "endpoints",
  "volumes",
  "capabilities",
  "shmMb"
]

export const isFieldKnown = (path: string): boolean =>
  path !== "" && FORM_FIELDS.some((f) => path === f || path.startsWith(`${f}.`) || path.startsWith(`${f}[`))
