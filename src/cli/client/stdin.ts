import { Prompt } from "@effect/cli"
import { Effect, Redacted } from "effect"
import { ClientCommandError } from "./errors.js"

/** All of stdin as text without the trailing newline (for `--password-stdin`, piped secrets). */
export const readSecretFromStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array))
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "")
  },
  catch: () => new ClientCommandError({ message: "cannot read stdin" })
})

export const stdinIsTerminal = (): boolean => process.stdin.isTTY === true

/** A secret value: piped stdin when stdin is not a terminal, else a prompt that does not echo. */
export const readSecret = (label: string) =>
  stdinIsTerminal() ? Effect.map(Prompt.password({ message: label }), Redacted.value) : readSecretFromStdin
