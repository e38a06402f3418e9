/**
 * Tags of a hosted repository, from the registry protocol itself
 * (`GET /v2/<name>/tags/list`, which takes the same bearer token as /v1; the
 * HTTP API lists repositories with a tag count only). Read with the same
 * Effect HTTP client and decoded with a schema like every other response.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { currentBaseUrl, currentTokenValue } from "./client.js"
import { fromEnvelope, toApiFailure } from "./failure.js"

const TagList = Schema.Struct({ name: Schema.String, tags: Schema.NullOr(Schema.Array(Schema.String)) })

export const fetchTags = async (repository: string): Promise<ReadonlyArray<string>> => {
  const token = currentTokenValue()
  const path = repository.split("/").map(encodeURIComponent).join("/")
  const request = HttpClientRequest.get(`${currentBaseUrl()}/v2/${path}/tags/list?n=1000`).pipe(
    token === undefined ? (r) => r : HttpClientRequest.bearerToken(token)
  )
  const program = Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    if (response.status >= 400) {
      const body = yield* response.json.pipe(Effect.orElseSucceed(() => undefined))
      return yield* Effect.fail(fromEnvelope(response.status, body))
    }
    const list = yield* HttpClientResponse.schemaBodyJson(TagList)(response)
    return list.tags ?? []
  }).pipe(Effect.scoped, Effect.provide(FetchHttpClient.layer))
  const exit = await Effect.runPromiseExit(program)
  if (exit._tag === "Success") return exit.value
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  throw toApiFailure(failure)
}
