/**
 * The SOPS MAC: SHA-512 over the plaintext bytes of every non-comment leaf in
 * document order (all branches), rendered as upper-case hex. With
 * `mac_only_encrypted` only leaves that end up encrypted count, and the hash
 * is seeded with SHA-256("sops") so the two modes never collide.
 */
import { createHash, type Hash } from "node:crypto"
import { isComment, type SopsLeaf } from "./tree.js"
import { leafBytes } from "./valueCipher.js"

const MAC_ONLY_ENCRYPTED_SEED = createHash("sha256").update("sops").digest()

export interface MacAccumulator {
  /** Feeds one leaf (after decryption / before encryption). Comments are ignored. */
  readonly add: (leaf: SopsLeaf, encrypted: boolean) => void
  /** Upper-case hex digest. Call once. */
  readonly digest: () => string
}

export const macAccumulator = (macOnlyEncrypted: boolean): MacAccumulator => {
  const hash: Hash = createHash("sha512")
  if (macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_SEED)
  return {
    add: (leaf, encrypted) => {
      if (isComment(leaf)) return
      if (macOnlyEncrypted && !encrypted) return
      hash.update(leafBytes(leaf).bytes)
    },
    digest: () => hash.digest("hex").toUpperCase()
  }
}

/** Constant-time comparison of two MAC strings. */
export const macEquals = (a: string, b: string): boolean => {
  const x = Buffer.from(a, "utf8")
  const y = Buffer.from(b, "utf8")
  if (x.length !== y.length) return false
  let diff = 0
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0)
  return diff === 0
}
