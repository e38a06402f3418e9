import { Effect, Schema } from "effect"

/** A client command failed: one line for the terminal, exit code 1. */
export class ClientCommandError extends Schema.TaggedError<ClientCommandError>()("ClientCommandError", {
  message: Schema.String
}) {}

const describe = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const o = e as { _tag?: unknown; message?: unknown; code?: unknown; reason?: unknown }
    if (typeof o.code === "string" && typeof o.message === "string") return `${o.message} (${o.code})`
    if (o._tag === "RequestError") return `cannot reach the daemon: ${String(o.message ?? o.reason)}`
    if (typeof o.message === "string") return o.message
  }
  return String(e)
}

/** Turns API and transport errors into a one-line ClientCommandError. */
export const asCommandError = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.mapError(effect, (e) => new ClientCommandError({ message: describe(e) }))
