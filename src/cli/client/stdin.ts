import { Effect } from "effect"
import { ClientCommandError } from "./errors.js"

/** All of stdin as text without the trailing newline (for `--password-stdin`). */
export const readSecretFromStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array))
    return Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "")
  },
  catch: () => new ClientCommandError({ message: "cannot read the password from stdin" })
})
