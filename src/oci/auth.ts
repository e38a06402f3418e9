import { createHash } from "node:crypto"

/** Credentials for one pull, already resolved from project registries by the caller. */
export type RegistryCredentials =
  | { readonly kind: "anonymous" }
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | { readonly kind: "bearer"; readonly token: string }

export const anonymous: RegistryCredentials = { kind: "anonymous" }

export interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
}

/**
 * Parses a `WWW-Authenticate` header into challenges:
 * `Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"`.
 * Quoted values may contain commas and backslash escapes.
 */
export const parseWwwAuthenticate = (header: string): ReadonlyArray<Challenge> => {
  const out: Array<{ scheme: string; params: Record<string, string> }> = []
  let i = 0
  const s = header
  const skipWs = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++
  }
  const readToken = () => {
    const start = i
    while (i < s.length && /[A-Za-z0-9!#$%&'*+.^_`|~-]/.test(s[i] ?? "")) i++
    return s.slice(start, i)
  }
  while (i < s.length) {
    skipWs()
    while (s[i] === ",") {
      i++
      skipWs()
    }
    const word = readToken()
    if (word === "") {
      i++
      continue
    }
    skipWs()
    if (s[i] === "=" && out.length > 0) {
      // parameter of the current challenge
      i++
      skipWs()
      let value = ""
      if (s[i] === "\"") {
        i++
        while (i < s.length && s[i] !== "\"") {
          if (s[i] === "\\" && i + 1 < s.length) i++
          value += s[i]
          i++
        }
        i++
      } else {
        const start = i
        while (i < s.length && s[i] !== "," && s[i] !== " ") i++
        value = s.slice(start, i)
      }
      const current = out[out.length - 1]
      if (current) current.params[word.toLowerCase()] = value
    } else {
      out.push({ scheme: word.toLowerCase(), params: {} })
    }
  }
  return out
}

export const basicHeader = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`

/** Stable, non-reversible key distinguishing credentials in the token cache. */
export const credentialsKey = (c: RegistryCredentials): string =>
  c.kind === "anonymous"
    ? "anon"
    : createHash("sha256")
      .update(c.kind === "basic" ? `basic\0${c.username}\0${c.password}` : `bearer\0${c.token}`)
      .digest("hex")
      .slice(0, 32)

interface CachedToken {
  readonly token: string
  readonly expiresAt: number
}

/** Registry tokens cached per realm/service/scope/credentials until shortly before expiry. */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>()
  constructor(private readonly now: () => number = Date.now) {}

  static key(realm: string, service: string, scope: string, credentials: RegistryCredentials): string {
    return `${realm}\n${service}\n${scope}\n${credentialsKey(credentials)}`
  }

  get(key: string): string | undefined {
    const hit = this.tokens.get(key)
    if (hit === undefined) return undefined
    if (hit.expiresAt <= this.now()) {
      this.tokens.delete(key)
      return undefined
    }
    return hit.token
  }

  /** Stores a token valid for `expiresInSeconds` (default 60 s per the token spec), minus a safety margin. */
  set(key: string, token: string, expiresInSeconds: number | undefined): void {
    const lifetime = Math.max(10, expiresInSeconds ?? 60)
    this.tokens.set(key, { token, expiresAt: this.now() + (lifetime - 5) * 1000 })
    if (this.tokens.size > 1000) {
      const now = this.now()
      for (const [k, v] of this.tokens) if (v.expiresAt <= now) this.tokens.delete(k)
    }
  }

  get size(): number {
    return this.tokens.size
  }
}
