/**
 * Launching the replicas of one deployment and passing them through the
 * health gate. A replica lives in its own scope (a child of the daemon
 * scope): closing it stops the workload and removes everything the runtime
 * created.
 */
import { Effect, Either, ExecutionStrategy, Exit, Option, Scope } from "effect"
import { randomBytes } from "node:crypto"
import { resolveCapabilities } from "../domain/capabilities.js"
import { type EffectiveLimits, effectiveLimits } from "../domain/limits.js"
import type { Project } from "../domain/project.js"
import type { Service } from "../domain/service.js"
import { NodeNetwork } from "../network/NodeNetwork.js"
import type { PulledImage } from "../oci/index.js"
import { clientMessage } from "../runtime/errors.js"
import { exitReason, type Replica, replicaId, Runtime } from "../runtime/index.js"
import { ServiceSecrets } from "../secrets/serviceSecrets.js"
import { Volumes } from "../volumes/Volumes.js"
import type { LogPhase } from "./DeploymentLog.js"
import { DeployFailed } from "./errors.js"
import { probeFailureReason } from "./failureMessages.js"
import { probeHealth, probeTcp, waitHealthy } from "./healthCheck.js"
import { parseStopSignal, SIGTERM, unbackedImageVolumes, unbackedVolumeWarning } from "./imageConventions.js"
import { runtimeDeploymentName, runtimeServiceName } from "./runtimeNames.js"

export interface RunningReplica {
  readonly replica: Replica
  readonly scope: Scope.CloseableScope
  /** The replica's effective memory limit (named when the OOM killer ends it). */
  readonly memoryLimitMb: number
}

export interface RunningSet {
  readonly deploymentId: string
  readonly replicas: ReadonlyArray<RunningReplica>
}

const imageEnv = (pulled: PulledImage): Record<string, string> =>
  Object.fromEntries(
    pulled.manifest.env.flatMap((kv) => {
      const i = kv.indexOf("=")
      return i > 0 ? [[kv.slice(0, i), kv.slice(i + 1)] as const] : []
    })
  )

export const closeReplica = (r: RunningReplica) => Scope.close(r.scope, Exit.void)

export const closeSet = (set: RunningSet) => Effect.forEach(set.replicas, closeReplica, { concurrency: "unbounded", discard: true })

export interface LaunchContext {
  readonly service: Service
  readonly project: Project
  readonly deploymentId: string
  readonly pulled: PulledImage
  readonly nodeLimits: EffectiveLimits
  /** RLIMIT_NOFILE of workloads (`default_nofile` is the hard limit). */
  readonly nofile: { readonly soft: number; readonly hard: number }
  readonly parentScope: Scope.Scope
  readonly log: (phase: LogPhase, message: string) => Effect.Effect<void>
}

/**
 * The service's volumes, created on first use and held for the replica's
 * scope (a held volume cannot be removed or restored); on failure the scope
 * is closed and the deployment fails with the reason.
 */
const attachVolumes = (ctx: LaunchContext, scope: Scope.CloseableScope) =>
  Effect.gen(function*() {
    const { service, pulled } = ctx
    if (service.volumes.length === 0) return []
    const volumes = yield* Volumes
    const attached = yield* volumes
      .attach({ projectId: service.projectId, serviceName: service.name }, service.volumes, {
        rootfs: pulled.rootfs,
        uid: pulled.manifest.user.uid,
        gid: pulled.manifest.user.gid,
        owners: pulled.manifest.rootfsOwners === "image" ? "image" : "shifted"
      })
      .pipe(Scope.extend(scope), Effect.either)
    if (Either.isLeft(attached)) {
      yield* Scope.close(scope, Exit.void)
      const e = attached.left
      return yield* new DeployFailed({
        phase: "starting",
        message: e._tag === "denia/volumes/VolumeInUse" ? e.message : "a volume could not be prepared (see the daemon log)",
        cause: e
      })
    }
    for (const v of attached.right) {
      if (v.origin !== "existing") {
        yield* ctx.log("STARTING", `volume ${v.name} created at ${v.target}${v.origin === "copied" ? " with the image's files" : ""}`)
      }
    }
    return attached.right.map(({ readOnly, source, target }) => ({ source, target, readOnly }))
  })

type Verdict =
  | { readonly healthy: true; readonly passed: string }
  | { readonly healthy: false; readonly reason: string }

/** What the image and the service ask of the sandbox besides the command (stop signal, caps, shm, nofile), with the deploy-log warnings. */
export const sandboxSpec = (service: Service, pulled: PulledImage, nofile: LaunchContext["nofile"]) => {
  const stop = parseStopSignal(pulled.manifest.stopSignal)
  const volumes = unbackedImageVolumes(pulled.manifest.volumes ?? [], service.volumes.map((v) => v.mountPath))
  const warnings = [...(stop.ok ? [] : [stop.warning]), ...volumes.map(unbackedVolumeWarning)]
  return {
    spec: {
      capabilities: resolveCapabilities(service.capabilities),
      stopSignal: stop.ok ? stop.signal : SIGTERM,
      shmBytes: service.shmMb * 1024 * 1024,
      nofile
    },
    warnings
  }
}

/** Starts one replica and waits until its health check passes; on failure nothing is left running. */
export const launchHealthyReplica = (ctx: LaunchContext) =>
  Effect.gen(function*() {
    const runtime = yield* Runtime
    const secrets = yield* ServiceSecrets
    const { service, pulled } = ctx
    const env = yield* secrets
      .resolveLaunchEnv(service, imageEnv(pulled))
      .pipe(Effect.mapError((e) =>
        new DeployFailed({
          phase: "starting",
          message: `cannot assemble the environment: ${e._tag === "denia/domain/NotFound" ? e.message : "a secret cannot be decrypted"}`
        })
      ))
    const limits = effectiveLimits(service.limits, ctx.project.defaultLimits, ctx.nodeLimits)
    const sandbox = sandboxSpec(service, pulled, ctx.nofile)
    yield* Effect.forEach(sandbox.warnings, (w) => ctx.log("WARN", w), { discard: true })
    const replicaName = `r${randomBytes(3).toString("hex")}`
    const scope = yield* Scope.fork(ctx.parentScope, ExecutionStrategy.sequential)
    const ref = { service: runtimeServiceName(service.id), deployment: runtimeDeploymentName(ctx.deploymentId), replica: replicaName }
    // The node network (when present): the replica's namespace, address and /etc files; torn down after the replica stops.
    const hostname = `${ref.service}-${replicaName}`.slice(0, 63)
    const network = yield* Effect.serviceOption(NodeNetwork)
    const attached = Option.isNone(network) ? Either.right(null) : yield* network.value
      .attach({
        replicaId: replicaId(ref),
        serviceId: service.id,
        serviceName: service.name,
        projectId: ctx.project.id,
        projectName: ctx.project.name,
        hostname
      })
      .pipe(Scope.extend(scope), Effect.either)
    if (Either.isLeft(attached)) {
      yield* Scope.close(scope, Exit.void)
      yield* Effect.logWarning("replica network setup failed", attached.left)
      return yield* new DeployFailed({ phase: "starting", message: "replica failed to start at stage network", cause: attached.left })
    }
    const net = attached.right
    const mounts = yield* attachVolumes(ctx, scope)
    const started = yield* runtime
      .start({
        ...ref,
        ...(net === null ? {} : { hostname, netnsPath: net.netnsPath, etcFiles: net.etcFiles }),
        rootfs: pulled.rootfs,
        // a bundle made from the build's own layer trees keeps the image's owners: mounted idmapped (ADR 0822)
        ...(pulled.manifest.rootfsOwners === "image" ? { rootfsIdmap: true } : {}),
        argv: pulled.manifest.args,
        env,
        workdir: pulled.manifest.workingDir === "" ? "/" : pulled.manifest.workingDir,
        uid: pulled.manifest.user.uid,
        gid: pulled.manifest.user.gid,
        ...(service.port === null ? {} : { port: service.port }),
        limits,
        readiness: null,
        ...sandbox.spec,
        ...(mounts.length === 0 ? {} : { mounts })
      })
      .pipe(Scope.extend(scope), Effect.either)
    if (Either.isLeft(started)) {
      yield* Scope.close(scope, Exit.void)
      const e = started.left
      const stage = "stage" in e ? ` at stage ${String(e.stage)}` : ""
      yield* Effect.logWarning("replica failed to start", e)
      return yield* new DeployFailed({ phase: "starting", message: `replica failed to start${stage}: ${clientMessage(e)}`, cause: e })
    }
    const replica = started.right
    yield* ctx.log("STARTING", `replica ${replicaName} started (pid ${replica.pid})`)
    const gate = healthGate(ctx, replica)
    if (gate === undefined) {
      yield* Scope.close(scope, Exit.void)
      return yield* new DeployFailed({ phase: "starting", message: "replica has no socket" })
    }
    // A workload that dies during the gate fails the deploy at once, with why it died.
    const exited = replica.exit.pipe(
      Effect.map((x): Verdict => ({ healthy: false, reason: exitReason(x, limits.memoryMb) }))
    )
    const verdict = yield* Effect.raceFirst(gate, exited)
    if (!verdict.healthy) {
      yield* Scope.close(scope, Exit.void)
      return yield* new DeployFailed({ phase: "health", message: verdict.reason })
    }
    yield* ctx.log("HEALTH", verdict.passed)
    return { replica, scope, memoryLimitMb: limits.memoryMb } satisfies RunningReplica
  })

/** The gate of the service's health check kind (undefined: it needs the socket the replica does not have). */
const healthGate = (ctx: LaunchContext, replica: Replica): Effect.Effect<Verdict> | undefined => {
  const { service, pulled } = ctx
  const health = service.health
  if (health.type === "running") {
    // a worker: healthy when its process is still running after the settle time (the exit race decides otherwise)
    return Effect.sleep(health.settleSeconds * 1000).pipe(
      Effect.as<Verdict>({ healthy: true, passed: `still running after ${health.settleSeconds} s` })
    )
  }
  const socketPath = replica.socketPath
  if (socketPath === null || service.port === null) return undefined
  const port = service.port
  const timeoutMs = health.timeoutSeconds * 1000
  const exposed = pulled.manifest.exposedPorts.filter((p) => p.protocol === "tcp").map((p) => p.port)
  const explain = (raw: string) => probeFailureReason(raw, port, exposed)
  const what = health.type === "http" ? `GET ${health.path}` : `TCP connect to port ${port}`
  const probe = health.type === "http"
    ? (ms: number) => probeHealth(socketPath, health.path, ms)
    : (ms: number) => probeTcp(socketPath, port, ms)
  return waitHealthy(probe, timeoutMs, (attempt, reason) =>
    attempt === 1 || attempt % 5 === 0
      ? ctx.log("HEALTH", `attempt ${attempt}: ${what} → ${explain(reason)}`)
      : Effect.void).pipe(
      Effect.map((r): Verdict =>
        r.healthy
          ? { healthy: true, passed: health.type === "http" ? `${what} → ${r.status}` : `${what} accepted` }
          : {
            healthy: false,
            reason: `health check ${what} did not pass within ${health.timeoutSeconds} s: ${explain(r.reason)}`
          }
      )
    )
}
