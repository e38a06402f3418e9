/**
 * The per-document data key and its age envelopes. sops stores, for each age
 * recipient, an ASCII-armored age file whose plaintext is the raw 32-byte
 * data key; the real `age -d -i keyfile` opens it.
 */
import { armor, Decrypter, Encrypter } from "age-encryption"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { SopsDataKeyError } from "../errors.js"
import type { AgeRecipientEntry } from "./metadata.js"

export const DATA_KEY_BYTES = 32

export const generateDataKey = (): Effect.Effect<Uint8Array> => Effect.sync(() => new Uint8Array(randomBytes(DATA_KEY_BYTES)))

/** Encrypts the data key to one age recipient (`age1...`) and armors it. */
export const wrapDataKey = (
  dataKey: Uint8Array,
  recipient: string
): Effect.Effect<AgeRecipientEntry, SopsDataKeyError> =>
  Effect.tryPromise({
    try: async () => {
      const e = new Encrypter()
      e.addRecipient(recipient)
      const file = await e.encrypt(dataKey)
      return { recipient, enc: armor.encode(file) }
    },
    catch: () => new SopsDataKeyError({ reason: "could not encrypt the data key to the age recipient" })
  })

/**
 * Recovers the data key from the first age entry one of `identities`
 * (`AGE-SECRET-KEY-1...` strings) opens.
 */
export const unwrapDataKey = (
  entries: ReadonlyArray<AgeRecipientEntry>,
  identities: ReadonlyArray<string>
): Effect.Effect<Uint8Array, SopsDataKeyError> =>
  Effect.gen(function*() {
    if (entries.length === 0) {
      return yield* new SopsDataKeyError({ reason: "the document has no age recipient" })
    }
    if (identities.length === 0) {
      return yield* new SopsDataKeyError({ reason: "no age identity available" })
    }
    for (const e of entries) {
      const key = yield* Effect.tryPromise(async () => {
        const d = new Decrypter()
        for (const id of identities) d.addIdentity(id)
        return d.decrypt(armor.decode(e.enc))
      }).pipe(Effect.option)
      if (key._tag === "Some") {
        if (key.value.length !== DATA_KEY_BYTES) {
          return yield* new SopsDataKeyError({ reason: "the age envelope does not hold a 32-byte data key" })
        }
        return key.value
      }
    }
    return yield* new SopsDataKeyError({ reason: "no age identity matches the document's recipients" })
  })
