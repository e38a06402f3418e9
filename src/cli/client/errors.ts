import { Effect, Schema } from "effect"

/** A client command failed: one line for the terminal, exit code 1. */
export class ClientCommandError extends Schema.TaggedError<ClientCommandError>()("denia/cli/ClientCommandError", {
  message: Schema.String
}) {}

const firstLine = (s: string): string => {
  const line = s.split("\n").find((l) => l.trim() !== "") ?? s
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

/** One line saying what went wrong: API envelopes, transport and decoding errors, never a schema dump. Pure. */
export const describeError = (e: unknown): string => {
  if (typeof e === "object" && e !== null) {
    const o = e as { _tag?: unknown; message?: unknown; code?: unknown; reason?: unknown; response?: { status?: unknown } }
    if (typeof o.code === "string" && typeof o.message === "string") return `${firstLine(o.message)} (${o.code})`
    if (o._tag === "RequestError") return `cannot reach the daemon: ${firstLine(String(o.message ?? o.reason))}`
    if (o._tag === "ResponseError") {
      const status = typeof o.response?.status === "number" ? o.response.status : undefined
      return status === undefined
        ? "the daemon's answer could not be read"
        : `the daemon answered HTTP ${status} with a body the CLI does not understand`
    }
    if (o._tag === "ParseError") return `unexpected answer from the daemon (${firstLine(String(o.message))})`
    if (typeof o.message === "string") return firstLine(o.message)
  }
  return firstLine(String(e))
}

/** Turns API and transport errors into a one-line ClientCommandError. */
export const asCommandError = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.mapError(effect, (e) => (e instanceof ClientCommandError ? e : new ClientCommandError({ message: describeError(e) })))
