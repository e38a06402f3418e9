import { Context, type Effect, Layer, type Scope } from "effect"
import type { InvalidRuntimeName, ReadinessTimeout, ReplicaNotFound, RuntimeIoError, StartError } from "./errors.js"
import { type FakeRuntimeOptions, makeFakeRuntime } from "./FakeRuntime.js"
import { makeLinuxRuntime } from "./LinuxRuntime.js"
import type {
  ReadinessOptions,
  Replica,
  ReplicaInfo,
  ReplicaRef,
  ReplicaSpec,
  ReplicaStats,
  RuntimeOptions,
  RuntimeStatus,
  ServiceLogs,
  SweepReport
} from "./types.js"

export interface RuntimeService {
  /** Launch a replica. Scoped: closing the scope stops it (SIGTERM, grace,
   * kill, remove dirs). With `port`, waits for HTTP readiness unless
   * `spec.readiness` is `null`. A failure cleans up everything it created. */
  readonly start: (spec: ReplicaSpec) => Effect.Effect<Replica, StartError, Scope.Scope>
  /** Stop a replica now (idempotent per replica; later calls fail NotFound). */
  readonly stop: (ref: ReplicaRef) => Effect.Effect<void, ReplicaNotFound>
  readonly list: Effect.Effect<ReadonlyArray<ReplicaInfo>>
  readonly stats: (ref: ReplicaRef) => Effect.Effect<ReplicaStats, ReplicaNotFound>
  /** Wait until an HTTP request over the replica's socket gets a status line. */
  readonly waitReady: (
    ref: ReplicaRef,
    options?: ReadinessOptions
  ) => Effect.Effect<void, ReplicaNotFound | ReadinessTimeout>
  /** Path of the service log and its most recent lines (default 100). */
  readonly logs: (
    service: string,
    options?: { readonly lines?: number }
  ) => Effect.Effect<ServiceLogs, InvalidRuntimeName | RuntimeIoError>
  /** Kill and remove every replica left by a previous (crashed) daemon:
   * processes, cgroups and dirs not owned by this runtime instance. */
  readonly sweepOrphans: Effect.Effect<SweepReport, RuntimeIoError>
  readonly status: Effect.Effect<RuntimeStatus>
}

export class Runtime extends Context.Tag("denia/runtime/Runtime")<Runtime, RuntimeService>() {
  /** Production runtime from plain options (the daemon maps Config onto them):
   * replicas launched by the static helper. */
  static readonly layer = (options: RuntimeOptions): Layer.Layer<Runtime, RuntimeIoError> =>
    Layer.scoped(Runtime, makeLinuxRuntime(options))
  /** In-memory runtime for other subsystems' tests (real HTTP servers on Unix sockets). */
  static readonly layerTest = (options: FakeRuntimeOptions = {}): Layer.Layer<Runtime, RuntimeIoError> =>
    Layer.scoped(Runtime, makeFakeRuntime(options))
}
