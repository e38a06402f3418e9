/**
 * `denia auth`: log in with a username and password, mint a named API token
 * with the session, check it with `/v1/me`, end the session, and store
 * `{url, token}` as a client profile (made active).
 */
import { Command, Options, Prompt } from "@effect/cli"
import { Effect, Option, Redacted } from "effect"
import * as os from "node:os"
import { clientFilePath } from "../../config/environment.js"
import { makeClient } from "./connection.js"
import { asCommandError, ClientCommandError } from "./errors.js"
import { printValue } from "./output.js"
import { PROFILE_NAME, readClientFile, writeClientFile } from "./profiles.js"
import { readSecretFromStdin, stdinIsTerminal } from "./stdin.js"

const clientWith = (url: string, token: string | undefined) =>
  makeClient({ url, token: token === undefined ? undefined : Redacted.make(token) })

export const authCommand = Command.make(
  "auth",
  {
    url: Options.text("url").pipe(
      Options.withPseudoName("URL"),
      Options.withDescription("Daemon URL, e.g. https://denia.example or http://127.0.0.1:7180")
    ),
    username: Options.text("username").pipe(
      Options.withPseudoName("USER"),
      Options.withDescription("Username (prompted when missing)"),
      Options.optional
    ),
    passwordStdin: Options.boolean("password-stdin").pipe(
      Options.withDescription("Read the password from stdin (needed without a terminal)")
    ),
    profile: Options.text("profile").pipe(
      Options.withPseudoName("NAME"),
      Options.withDefault("default"),
      Options.withDescription("Profile name to store")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))
  },
  (o) =>
    Effect.gen(function*() {
      if (!PROFILE_NAME.test(o.profile)) return yield* new ClientCommandError({ message: "--profile must be 1-64 of A-Z a-z 0-9 _ -" })
      const url = o.url.replace(/\/+$/, "")
      // A prompt needs a terminal: without one, fail at once rather than hang or read nothing.
      if ((!o.passwordStdin || Option.isNone(o.username)) && !stdinIsTerminal()) {
        return yield* new ClientCommandError({
          message:
            "stdin is not a terminal, so denia auth cannot prompt: pass --username U and --password-stdin (e.g. denia auth --url URL --username U --password-stdin < pwfile)"
        })
      }
      const username = Option.isSome(o.username) ? o.username.value : yield* Prompt.text({ message: "Username" })
      const password = o.passwordStdin ? yield* readSecretFromStdin : Redacted.value(yield* Prompt.password({ message: "Password" }))
      const anonymous = yield* clientWith(url, undefined)
      const session = yield* asCommandError(anonymous.authPublic.login({ payload: { username, password } }))
      const withSession = yield* clientWith(url, session.token)
      const minted = yield* asCommandError(withSession.apiTokens.create({ payload: { name: `denia-cli@${os.hostname()}`.slice(0, 64) } }))
      const withToken = yield* clientWith(url, minted.token)
      const me = yield* asCommandError(withToken.auth.me())
      yield* asCommandError(withSession.auth.logout())
      const file = yield* readClientFile().pipe(asCommandError)
      yield* writeClientFile({ active: o.profile, profiles: { ...file.profiles, [o.profile]: { url, token: minted.token } } }).pipe(
        asCommandError
      )
      const who = me.user?.username ?? username
      yield* printValue(
        o.json,
        { url, username: who, profile: o.profile, file: clientFilePath() },
        `logged in to ${url} as ${who}; profile "${o.profile}" saved in ${clientFilePath()}`
      )
    })
).pipe(Command.withDescription("Log in, mint an API token and save it as a client profile."))
