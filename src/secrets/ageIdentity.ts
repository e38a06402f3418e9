/**
 * The host's age identity: an X25519 key file in the format `age-keygen`
 * writes (`# created:` and `# public key:` comment lines, then the
 * `AGE-SECRET-KEY-1...` line). Created 0600 (parent directory 0700 when we
 * create it) if missing, and never overwritten once present. Losing this file
 * makes every stored secret unrecoverable.
 */
import { FileSystem } from "@effect/platform"
import { Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption"
import { Effect } from "effect"
import * as path from "node:path"
import { ensureDirectory, writeFileAtomic } from "../platform/atomicWrite.js"
import { AgeIdentityError } from "./errors.js"
import { formatLastModified } from "./sops/metadata.js"

export interface AgeIdentityOptions {
  /** Path of the key file (config `age_key_file`). */
  readonly keyFile: string
  /** Recipient to encrypt to (config `age_recipient`); derived from the identity when absent. */
  readonly recipient?: string | undefined
}

export interface AgeIdentity {
  readonly keyFile: string
  /** Every identity in the file (`AGE-SECRET-KEY-...`); all are tried when decrypting. */
  readonly identities: ReadonlyArray<string>
  /** Recipients derived from `identities`, in the same order. */
  readonly ownRecipients: ReadonlyArray<string>
  /** The recipient new documents are encrypted to. */
  readonly recipient: string
  /** True when this call created the key file. */
  readonly created: boolean
}

const IDENTITY_PREFIX = "AGE-SECRET-KEY-"

/** Renders a key file the way `age-keygen` does. */
export const formatAgeKeyFile = (identity: string, recipient: string, now: Date): string =>
  `# created: ${formatLastModified(now)}\n# public key: ${recipient}\n${identity}\n`

/** Extracts the identity lines of a key file; comments and blank lines are skipped, anything else is an error. */
export const parseAgeKeyFile = (text: string): { readonly identities: ReadonlyArray<string> } | { readonly error: string } => {
  const identities: Array<string> = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim()
    if (line === "" || line.startsWith("#")) continue
    // never echo the line: it may be key material
    if (!line.startsWith(IDENTITY_PREFIX)) return { error: `line ${i + 1} is not an age identity` }
    identities.push(line)
  }
  return identities.length === 0 ? { error: "no age identity in the file" } : { identities }
}

const fail = (keyFile: string, reason: string) => new AgeIdentityError({ path: keyFile, reason })

const recipientOf = (keyFile: string, identity: string) =>
  Effect.tryPromise({
    try: () => identityToRecipient(identity),
    catch: () => fail(keyFile, "the file holds an invalid age identity")
  })

/** Checks that a string is an age recipient the encrypter accepts. */
export const validateRecipient = (recipient: string): Effect.Effect<string, AgeIdentityError> =>
  Effect.try({
    try: () => {
      new Encrypter().addRecipient(recipient)
      return recipient
    },
    catch: () => new AgeIdentityError({ path: "age_recipient", reason: "not a valid age recipient" })
  })

/** Loads the key file, creating it when missing. */
export const loadOrCreateAgeIdentity = (
  options: AgeIdentityOptions
): Effect.Effect<AgeIdentity, AgeIdentityError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const keyFile = path.resolve(options.keyFile)
    const io = (what: string) => (e: { readonly message: string }) => fail(keyFile, `${what}: ${e.message}`)

    let created = false
    if (!(yield* fs.exists(keyFile).pipe(Effect.mapError(io("stat"))))) {
      yield* ensureDirectory(path.dirname(keyFile), 0o700, false).pipe(Effect.mapError(io("create directory")))
      const identity = yield* Effect.tryPromise({
        try: () => generateX25519Identity(),
        catch: () => fail(keyFile, "could not generate an age identity")
      })
      const recipient = yield* recipientOf(keyFile, identity)
      const text = formatAgeKeyFile(identity, recipient, new Date())
      // noReplace: a concurrent creator wins and we read its file below
      const written = yield* writeFileAtomic(keyFile, Buffer.from(text, "utf8"), { mode: 0o600, noReplace: true }).pipe(
        Effect.as(true),
        Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.succeed(false)),
        Effect.mapError(io("write"))
      )
      created = written
      if (written) {
        yield* Effect.logInfo("created age identity; back it up: losing it makes all secrets unrecoverable").pipe(
          Effect.annotateLogs({ keyFile, recipient })
        )
      }
    }

    const info = yield* fs.stat(keyFile).pipe(Effect.mapError(io("stat")))
    if (info.type !== "File") return yield* fail(keyFile, "not a regular file")
    if ((info.mode & 0o077) !== 0) {
      yield* Effect.logWarning("age key file is readable by group or others; chmod 600 it").pipe(
        Effect.annotateLogs({ keyFile })
      )
    }
    const text = yield* fs.readFileString(keyFile, "utf8").pipe(Effect.mapError(io("read")))
    const parsed = parseAgeKeyFile(text)
    if ("error" in parsed) return yield* fail(keyFile, parsed.error)
    const ownRecipients = yield* Effect.forEach(parsed.identities, (id) => recipientOf(keyFile, id))
    const first = ownRecipients[0]
    if (first === undefined) return yield* fail(keyFile, "no age identity in the file")

    let recipient = first
    if (options.recipient !== undefined && options.recipient !== "") {
      recipient = yield* validateRecipient(options.recipient)
      if (!ownRecipients.includes(recipient)) {
        yield* Effect.logWarning(
          "age_recipient does not belong to the host identity: this host cannot read secrets it writes"
        ).pipe(Effect.annotateLogs({ keyFile, recipient }))
      }
    }
    return { keyFile, identities: parsed.identities, ownRecipients, recipient, created }
  })
