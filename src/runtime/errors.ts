import { Schema } from "effect"

/** The helper (or the runtime around it) failed at a named stage: `unshare`,
 * `uid_map`, `mount overlay`, `mount dev`, `pivot_root`, `seccomp`, `exec`,
 * `rootfs`, `dirs`, `cgroup`, `helper`, `timeout`, ... */
export class RuntimeLaunchError extends Schema.TaggedError<RuntimeLaunchError>()("RuntimeLaunchError", {
  stage: Schema.String,
  message: Schema.String
}) {}

/** A name that would become a path component is not acceptable. */
export class InvalidRuntimeName extends Schema.TaggedError<InvalidRuntimeName>()("InvalidRuntimeName", {
  field: Schema.String,
  value: Schema.String,
  message: Schema.String
}) {}

/** A replica spec field other than a name is unusable. */
export class InvalidReplicaSpec extends Schema.TaggedError<InvalidReplicaSpec>()("InvalidReplicaSpec", {
  field: Schema.String,
  message: Schema.String
}) {}

/** A path the runtime is about to write through is (or contains) a symlink,
 * or is otherwise not what it must be. */
export class UnsafePathError extends Schema.TaggedError<UnsafePathError>()("UnsafePathError", {
  path: Schema.String,
  message: Schema.String
}) {}

export class ReplicaNotFound extends Schema.TaggedError<ReplicaNotFound>()("ReplicaNotFound", {
  replica: Schema.String
}) {}

export class ReplicaAlreadyRunning extends Schema.TaggedError<ReplicaAlreadyRunning>()("ReplicaAlreadyRunning", {
  replica: Schema.String
}) {}

/** No HTTP status line came back over the replica's socket in time. */
export class ReadinessTimeout extends Schema.TaggedError<ReadinessTimeout>()("ReadinessTimeout", {
  replica: Schema.String,
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/** The compiled helper binary is not where it should be (run `npm run build:native`). */
export class HelperMissing extends Schema.TaggedError<HelperMissing>()("HelperMissing", {
  path: Schema.String,
  message: Schema.String
}) {}

/** A filesystem or process operation of the runtime failed. */
export class RuntimeIoError extends Schema.TaggedError<RuntimeIoError>()("RuntimeIoError", {
  op: Schema.String,
  path: Schema.String,
  message: Schema.String
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

export const errorMessage = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "string" ? e : String(e)
