/**
 * Server-Sent Events over the Effect HTTP client. The typed API client reads a
 * `text/event-stream` body whole (it is declared as text), which would wait for
 * the stream to end; live logs need it as it arrives. So streams go through
 * the same `FetchHttpClient` with the same bearer token, read incrementally,
 * and are parsed here. `EventSource` is not used: it cannot send a bearer token.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Stream } from "effect"
import { currentBaseUrl, currentTokenValue } from "./client.js"
import { fromEnvelope, toApiFailure } from "./failure.js"

export interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id: string | undefined
}

/** The `end` event's data: `{"status":…,"error"?:…}` for deployments, anything else shown as is. */
export const endSummary = (data: string): string => {
  try {
    const parsed: unknown = JSON.parse(data)
    if (typeof parsed === "object" && parsed !== null && "status" in parsed && typeof parsed.status === "string") return parsed.status
  } catch {
    // not JSON: show the text
  }
  return data
}

/** Incremental parser: feed text chunks, get complete events back. */
export const createSseParser = () => {
  let buffer = ""
  return (chunk: string): ReadonlyArray<SseEvent> => {
    buffer += chunk.replace(/\r\n?/g, "\n")
    const events: Array<SseEvent> = []
    let end = buffer.indexOf("\n\n")
    while (end !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = "message"
      let id: string | undefined
      const data: Array<string> = []
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue
        const colon = line.indexOf(":")
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
        if (field === "event") event = value
        else if (field === "data") data.push(value)
        else if (field === "id") id = value
      }
      if (data.length > 0 || event !== "message") events.push({ event, data: data.join("\n"), id })
      end = buffer.indexOf("\n\n")
    }
    return events
  }
}

/**
 * Follows an event stream at `path` (e.g. `/v1/deployments/<id>/logs`) until it
 * ends or `signal` aborts. Rejects with `ApiFailure` when the request fails.
 */
export const followEvents = async (path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> => {
  const token = currentTokenValue()
  const request = HttpClientRequest.get(`${currentBaseUrl()}${path}`).pipe(
    HttpClientRequest.setHeader("accept", "text/event-stream"),
    token === undefined ? (r) => r : HttpClientRequest.bearerToken(token)
  )
  const parse = createSseParser()
  const decoder = new TextDecoder()
  const program = Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    if (response.status >= 400) {
      const body = yield* response.json.pipe(Effect.orElseSucceed(() => undefined))
      return yield* Effect.fail(fromEnvelope(response.status, body))
    }
    yield* response.stream.pipe(
      Stream.runForEach((bytes) =>
        Effect.sync(() => {
          for (const e of parse(decoder.decode(bytes, { stream: true }))) onEvent(e)
        })
      )
    )
  }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
  const exit = await Effect.runPromiseExit(program, { signal })
  if (exit._tag === "Failure" && !signal.aborted) {
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    throw toApiFailure(failure)
  }
}
