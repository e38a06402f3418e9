/**
 * A service's health check: HTTP over the replica's socket, a TCP connect, or (workers) still running
 * after a settle time; the default for each kind and a one-line description.
 */
import { Schema } from "effect"

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
