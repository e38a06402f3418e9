/**
 * The console's only way to the API: a client derived from the shared API
 * definition (`src/api/definition/DeniaApi.ts`) with `HttpApiClient.make`, so request
 * payloads are encoded and responses decoded by the same schemas the daemon
 * uses. `call` runs one request with the session's bearer token and turns
 * every failure into an `ApiFailure` for the query cache.
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Cause, Effect, Exit, Option } from "effect"
import { DeniaApi } from "../../../src/api/definition/DeniaApi.js"
import { ApiFailure, toApiFailure } from "./failure.js"

export const makeClient = (baseUrl: string, token: string | undefined) =>
  HttpApiClient.make(DeniaApi, {
    baseUrl,
    ...(token === undefined ? {} : { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(token)) })
  }).pipe(Effect.provide(FetchHttpClient.layer))

export type DeniaClient = Effect.Effect.Success<ReturnType<typeof makeClient>>

export interface CallOptions {
  /** Bearer token; defaults to the one `configureClient` was given. */
  readonly token?: string | undefined
  readonly signal?: AbortSignal | undefined
}

/** Set by `configureClient` (the page origin in the app); DOM-free so Node tests can drive a real daemon. */
let baseUrl = ""
let currentToken: () => string | undefined = () => undefined
let onUnauthorized: () => void = () => {}

export const currentBaseUrl = (): string => baseUrl
export const currentTokenValue = (): string | undefined => currentToken()

/** Wires the client to the session store (token source, 401 handler) and origin. */
export const configureClient = (options: {
  readonly baseUrl?: string
  readonly token: () => string | undefined
  readonly onUnauthorized: () => void
}): void => {
  if (options.baseUrl !== undefined) baseUrl = options.baseUrl
  currentToken = options.token
  onUnauthorized = options.onUnauthorized
}

/** Runs one typed API call; rejects with `ApiFailure`. */
export const call = async <A, E>(f: (client: DeniaClient) => Effect.Effect<A, E>, options: CallOptions = {}): Promise<A> => {
  const token = "token" in options ? options.token : currentToken()
  const exit = await Effect.runPromiseExit(
    makeClient(baseUrl, token).pipe(Effect.flatMap(f)),
    options.signal === undefined ? undefined : { signal: options.signal }
  )
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  const error = Option.isSome(failure)
    ? toApiFailure(failure.value)
    : new ApiFailure(0, "UNKNOWN", Cause.isInterruptedOnly(exit.cause) ? "The request was cancelled." : "Something went wrong.")
  // A rejected session (expired or revoked) sends the user back to the login page.
  if (error.status === 401 && !("token" in options)) onUnauthorized()
  throw error
}
