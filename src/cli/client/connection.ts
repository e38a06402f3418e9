/**
 * How CLI client commands reach a daemon: `--url`/`--token` flags, else
 * `DENIA_URL`/`DENIA_TOKEN`, else the profile (`--profile` or the active one
 * in client.toml, written by `denia auth`), else the local daemon's own config
 * file (so the operator on the host needs no setup).
 */
import { Options } from "@effect/cli"
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect, Option, Redacted, Schema } from "effect"
import { DeniaApi } from "../../api/definition/DeniaApi.js"
import { clientEnvironment, loadProcessConfig } from "../../config/environment.js"
import type { LoadedConfig } from "../../config/load.js"
import { asCommandError } from "./errors.js"
import { readClientFile, selectProfile } from "./profiles.js"

export class ClientSetupError extends Schema.TaggedError<ClientSetupError>()("ClientSetupError", {
  message: Schema.String
}) {}

export const connectionOptions = {
  url: Options.text("url").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription("Daemon URL, e.g. http://127.0.0.1:7180 (env DENIA_URL)"),
    Options.withFallbackConfig(clientEnvironment.url),
    Options.optional
  ),
  token: Options.redacted("token").pipe(
    Options.withPseudoName("TOKEN"),
    Options.withDescription("Bearer token: an API token or the admin token (env DENIA_TOKEN)"),
    Options.withFallbackConfig(clientEnvironment.token),
    Options.optional
  ),
  profile: Options.text("profile").pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription("Client profile from ~/.config/denia/client.toml (default: the active one)"),
    Options.withFallbackConfig(clientEnvironment.profile),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))
}

export interface ConnectionFlags {
  readonly url: Option.Option<string>
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly profile: Option.Option<string>
}

/** What the daemon's own config says about its public ingress (known only when it is this host's daemon). */
export interface IngressHints {
  readonly baseDomain: string
  readonly httpPort: number
  readonly httpsPort: number
}

export interface Connection {
  readonly url: string
  readonly token: Redacted.Redacted<string>
  readonly ingress?: IngressHints | undefined
}

const loadLocal = loadProcessConfig(false)

const hintsOf = (c: LoadedConfig): IngressHints => ({
  baseDomain: c.values.baseDomain,
  httpPort: c.values.httpPort,
  httpsPort: c.values.httpsPort
})

const fromLocalConfig = loadLocal.pipe(
  Effect.map((c): Connection => ({ url: `http://${c.values.bindAddr}`, token: Redacted.make(c.values.adminToken), ingress: hintsOf(c) })),
  Effect.mapError(
    (e) => new ClientSetupError({ message: `no --url/--token given and the local daemon config is unusable (${e.line})` })
  )
)

const fromProfile = (name: string | undefined) =>
  readClientFile().pipe(
    Effect.mapError((e) => new ClientSetupError({ message: e.message })),
    Effect.flatMap((file) => {
      const profile = selectProfile(file, name)
      if (profile !== undefined) return Effect.succeed(Option.some<Connection>({ url: profile.url, token: Redacted.make(profile.token) }))
      return name === undefined
        ? Effect.succeed(Option.none<Connection>())
        : Effect.fail(
          new ClientSetupError({ message: `no profile named ${JSON.stringify(name)}; run \`denia auth --url URL --profile ${name}\`` })
        )
    })
  )

/** The local config's ingress settings when `url` is the daemon that config describes (best effort). */
const withLocalHints = (connection: Connection): Effect.Effect<Connection> =>
  connection.ingress !== undefined
    ? Effect.succeed(connection)
    : loadLocal.pipe(
      Effect.map((c) => (`http://${c.values.bindAddr}` === connection.url ? { ...connection, ingress: hintsOf(c) } : connection)),
      Effect.orElseSucceed(() => connection)
    )

export const resolveConnection = (flags: ConnectionFlags): Effect.Effect<Connection, ClientSetupError> =>
  Effect.flatMap(resolveBare(flags), withLocalHints)

const resolveBare = (flags: ConnectionFlags): Effect.Effect<Connection, ClientSetupError> =>
  Option.isSome(flags.url) && Option.isSome(flags.token)
    ? Effect.succeed({ url: flags.url.value.replace(/\/+$/, ""), token: flags.token.value })
    : Option.isSome(flags.url) !== Option.isSome(flags.token)
    ? Effect.fail(new ClientSetupError({ message: "--url and --token must be given together" }))
    : fromProfile(Option.getOrUndefined(flags.profile)).pipe(
      Effect.flatMap(Option.match({ onNone: () => fromLocalConfig, onSome: Effect.succeed }))
    )

/** The whole typed client derived from the API definition (its type is what commands program against). */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- kept only for its type: commands program against the full client, built lazily per group
const makeFullClient = (connection: { readonly url: string; readonly token?: Redacted.Redacted<string> | undefined }) =>
  HttpApiClient.make(DeniaApi, {
    baseUrl: connection.url,
    ...(connection.token === undefined
      ? {}
      : { transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(connection.token))) })
  }).pipe(Effect.provide(FetchHttpClient.layer))

export type DeniaClient = Effect.Effect.Success<ReturnType<typeof makeFullClient>>

type GroupName = keyof DeniaClient & string
type AnyEndpointFn = (...args: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>

/**
 * A client with the full client's type whose groups are built on first use:
 * deriving every endpoint of the API up front costs more CPU than the
 * request a command makes (ADR 0013). Each group is built once, with
 * `HttpApiClient.group` (the same derivation, one group at a time).
 */
export const makeClient = (
  connection: { readonly url: string; readonly token?: Redacted.Redacted<string> | undefined }
): Effect.Effect<DeniaClient> =>
  Effect.map(HttpClient.HttpClient.pipe(Effect.provide(FetchHttpClient.layer)), (base) => {
    const httpClient = connection.token === undefined
      ? base
      : HttpClient.mapRequest(base, HttpClientRequest.bearerToken(Redacted.value(connection.token)))
    const built = new Map<string, Record<string, AnyEndpointFn>>()
    const groupClient = (group: GroupName) =>
      Effect.suspend(() => {
        const known = built.get(group)
        if (known !== undefined) return Effect.succeed(known)
        return HttpApiClient.group(DeniaApi, { group, httpClient, baseUrl: connection.url }).pipe(
          Effect.map((g) => g as unknown as Record<string, AnyEndpointFn>),
          Effect.tap((g) => Effect.sync(() => built.set(group, g)))
        )
      })
    const groups = Object.fromEntries(
      Object.keys(DeniaApi.groups).map((group) => [
        group,
        new Proxy(
          {},
          {
            get: (_, endpoint) => (...args: ReadonlyArray<unknown>) =>
              Effect.flatMap(groupClient(group as GroupName), (g) => {
                const fn = g[String(endpoint)]
                return fn === undefined ? Effect.die(new Error(`no endpoint ${group}.${String(endpoint)}`)) : fn(...args)
              })
          }
        )
      ])
    )
    // the proxies forward every call to the real group client, whose type this is
    return groups as unknown as DeniaClient
  })

/** Resolve the connection, build the client and run `f` with it; errors become one-line command errors. */
export const withClient = <A, E, R>(flags: ConnectionFlags, f: (client: DeniaClient, connection: Connection) => Effect.Effect<A, E, R>) =>
  asCommandError(
    resolveConnection(flags).pipe(Effect.flatMap((connection) => Effect.flatMap(makeClient(connection), (client) => f(client, connection))))
  )
