/**
 * The signed-in session: the session token from `POST /v1/auth/login`, kept in
 * `sessionStorage` (gone when the tab closes, never in localStorage or a
 * cookie) and mirrored in a signal so views react to login and logout.
 */
import { createSignal } from "solid-js"

export interface Session {
  readonly token: string
  readonly expiresAt: string
  readonly username: string
}

const KEY = "denia.session"

const isSession = (u: unknown): u is Session =>
  typeof u === "object" &&
  u !== null &&
  "token" in u &&
  typeof u.token === "string" &&
  "expiresAt" in u &&
  typeof u.expiresAt === "string" &&
  "username" in u &&
  typeof u.username === "string"

const storage = (): Storage | undefined => {
  try {
    return typeof sessionStorage === "undefined" ? undefined : sessionStorage
  } catch {
    return undefined
  }
}

const read = (now: number): Session | undefined => {
  const raw = storage()?.getItem(KEY)
  if (raw === null || raw === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(raw)
    if (!isSession(parsed)) return undefined
    return Date.parse(parsed.expiresAt) > now ? parsed : undefined
  } catch {
    return undefined
  }
}

export const createSessionStore = (now: () => number = Date.now) => {
  const [session, setSession] = createSignal<Session | undefined>(read(now()))
  return {
    session,
    /** The bearer token, or undefined when signed out or expired. */
    token: (): string | undefined => {
      const s = session()
      if (s === undefined) return undefined
      if (Date.parse(s.expiresAt) <= now()) return undefined
      return s.token
    },
    signIn: (s: Session): void => {
      storage()?.setItem(KEY, JSON.stringify(s))
      setSession(s)
    },
    signOut: (): void => {
      storage()?.removeItem(KEY)
      setSession(undefined)
    }
  }
}

export type SessionStore = ReturnType<typeof createSessionStore>

/** The app's one session store. */
export const sessionStore: SessionStore = createSessionStore()
