import { Schema } from "effect"

/** The helper (or the runtime around it) failed at a named stage: `unshare`,
 * `uid_map`, `mount overlay`, `mount dev`, `pivot_root`, `seccomp`, `exec`,
 * `rootfs`, `dirs`, `cgroup`, `helper`, `timeout`, ... */
export class RuntimeLaunchError extends Schema.TaggedError<RuntimeLaunchError>()("denia/runtime/RuntimeLaunchError", {
  stage: Schema.String,
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

/** A name that would become a path component is not acceptable. */
export class InvalidRuntimeName extends Schema.TaggedError<InvalidRuntimeName>()("denia/runtime/InvalidRuntimeName", {
  field: Schema.String,
  value: Schema.String,
  message: Schema.String
}) {}

/** A replica spec field other than a name is unusable. */
export class InvalidReplicaSpec extends Schema.TaggedError<InvalidReplicaSpec>()("denia/runtime/InvalidReplicaSpec", {
  field: Schema.String,
  message: Schema.String
}) {}

/** A path the runtime is about to write through is (or contains) a symlink,
 * or is otherwise not what it must be. */
export class UnsafePathError extends Schema.TaggedError<UnsafePathError>()("denia/runtime/UnsafePathError", {
  path: Schema.String,
  message: Schema.String
}) {}

export class ReplicaNotFound extends Schema.TaggedError<ReplicaNotFound>()("denia/runtime/ReplicaNotFound", {
  replica: Schema.String
}) {}

export class ReplicaAlreadyRunning extends Schema.TaggedError<ReplicaAlreadyRunning>()("denia/runtime/ReplicaAlreadyRunning", {
  replica: Schema.String
}) {}

/** No HTTP status line came back over the replica's socket in time. */
export class ReadinessTimeout extends Schema.TaggedError<ReadinessTimeout>()("denia/runtime/ReadinessTimeout", {
  replica: Schema.String,
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/** The compiled helper binary is not where it should be (run `npm run build:native`). */
export class HelperMissing extends Schema.TaggedError<HelperMissing>()("denia/runtime/HelperMissing", {
  path: Schema.String,
  message: Schema.String
}) {}

/** A filesystem or process operation of the runtime failed. */
export class RuntimeIoError extends Schema.TaggedError<RuntimeIoError>()("denia/runtime/RuntimeIoError", {
  op: Schema.String,
  path: Schema.String,
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {}

export type StartError =
  | RuntimeLaunchError
  | InvalidRuntimeName
  | InvalidReplicaSpec
  | UnsafePathError
  | ReplicaAlreadyRunning
  | ReadinessTimeout
  | HelperMissing
  | RuntimeIoError

export const errorMessage = (e: unknown): string => e instanceof Error ? e.message : typeof e === "string" ? e : String(e)

/**
 * What a start failure may tell API clients (deployment errors): an I/O
 * failure names only its operation, since the OS message quotes host paths;
 * the other messages never hold a path (paths live in their `path` fields).
 */
export const clientMessage = (e: StartError): string =>
  e._tag === "denia/runtime/RuntimeIoError" ? `${e.op} failed (details in the daemon log)` : e.message
