/**
 * Bearer tokens: 32 random bytes, base64url, with a prefix telling kinds
 * apart (`dns_` session, `dnt_` API token). Only the SHA-256 of a token is
 * stored; lookups go by that hash, so the token itself is never compared.
 */
import { createHash, randomBytes } from "node:crypto"

import type { CredentialKind } from "../domain/principal.js"

export type { CredentialKind } from "../domain/principal.js"

const PREFIX: Readonly<Record<CredentialKind, string>> = { session: "dns_", apiToken: "dnt_" }

export const mintToken = (kind: CredentialKind): string => `${PREFIX[kind]}${randomBytes(32).toString("base64url")}`

export const tokenHash = (token: string): string => createHash("sha256").update(token).digest("hex")

export const looksLikeUserToken = (token: string): boolean => /^dn[st]_[A-Za-z0-9_-]{43}$/.test(token)
