/**
 * Webhook deliveries: who sent them and what was pushed.
 *
 * The hook URL carries the service's secret (its SHA-256 is stored, compared
 * in constant time). A GitHub (`X-Hub-Signature-256`) or Gitea
 * (`X-Gitea-Signature`) delivery must also carry an HMAC-SHA256 of the raw
 * body keyed with that secret, and a GitLab delivery `X-Gitlab-Token` equal
 * to it; a delivery without a forge's headers is the plain form
 * `{"ref": "..."}`, authenticated by the URL alone.
 */
import { Either } from "effect"
import { createHash, createHmac, timingSafeEqual } from "node:crypto"

export type Forge = "github" | "gitlab" | "gitea" | "plain"

/** What a delivery says was pushed. */
export type Push =
  | { readonly kind: "push"; readonly forge: Forge; readonly ref: string; readonly commit: string | undefined }
  /** A delivery that is not a push (GitHub `ping`, a deleted branch, other events). */
  | { readonly kind: "other"; readonly forge: Forge; readonly reason: string }

export const hashSecret = (secret: string): string => createHash("sha256").update(secret, "utf8").digest("hex")

/** Constant-time equality of two strings (by their SHA-256, so lengths never leak either). */
export const safeEqual = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest())

export const secretMatches = (candidate: string, storedHash: string): boolean => safeEqual(hashSecret(candidate), storedHash)

const header = (headers: Readonly<Record<string, string | undefined>>, name: string) => headers[name.toLowerCase()]

export const forgeOf = (headers: Readonly<Record<string, string | undefined>>): Forge =>
  header(headers, "x-gitea-event") !== undefined || header(headers, "x-gitea-signature") !== undefined
    ? "gitea"
    : header(headers, "x-github-event") !== undefined || header(headers, "x-hub-signature-256") !== undefined
    ? "github"
    : header(headers, "x-gitlab-event") !== undefined || header(headers, "x-gitlab-token") !== undefined
    ? "gitlab"
    : "plain"

const hmacHex = (secret: string, body: string) => createHmac("sha256", secret).update(body, "utf8").digest("hex")

/** Whether the delivery proves knowledge of `secret` the way its forge does; Left with why not. */
export const verifyDelivery = (
  forge: Forge,
  headers: Readonly<Record<string, string | undefined>>,
  rawBody: string,
  secret: string
): Either.Either<void, string> => {
  switch (forge) {
    case "github": {
      const sig = header(headers, "x-hub-signature-256")
      if (sig === undefined) return Either.left("X-Hub-Signature-256 is missing; set the webhook's secret to the one in the hook URL")
      return safeEqual(sig.trim().toLowerCase(), `sha256=${hmacHex(secret, rawBody)}`)
        ? Either.void
        : Either.left("X-Hub-Signature-256 does not match the body")
    }
    case "gitea": {
      const sig = header(headers, "x-gitea-signature")
      if (sig === undefined) return Either.left("X-Gitea-Signature is missing; set the webhook's secret to the one in the hook URL")
      return safeEqual(sig.trim().toLowerCase(), hmacHex(secret, rawBody))
        ? Either.void
        : Either.left("X-Gitea-Signature does not match the body")
    }
    case "gitlab": {
      const token = header(headers, "x-gitlab-token")
      if (token === undefined) return Either.left("X-Gitlab-Token is missing; set the webhook's secret token to the one in the hook URL")
      return safeEqual(token, secret) ? Either.void : Either.left("X-Gitlab-Token does not match")
    }
    case "plain":
      return Either.void
  }
}

const ZERO = /^0{40}$/

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Reads the push out of a delivery's JSON body; Left with a message naming the field when it is unusable. */
export const parsePush = (
  forge: Forge,
  headers: Readonly<Record<string, string | undefined>>,
  body: unknown
): Either.Either<Push, string> => {
  const event = header(headers, forge === "gitea" ? "x-gitea-event" : forge === "github" ? "x-github-event" : "x-gitlab-event")
  if (forge === "github" && event !== undefined && event !== "push") {
    return Either.right({ kind: "other", forge, reason: `GitHub event ${event}` })
  }
  if (forge === "gitea" && event !== undefined && event !== "push") {
    return Either.right({ kind: "other", forge, reason: `Gitea event ${event}` })
  }
  if (forge === "gitlab" && event !== undefined && event !== "Push Hook" && event !== "Tag Push Hook") {
    return Either.right({ kind: "other", forge, reason: `GitLab event ${event}` })
  }
  if (!isRecord(body)) return Either.left("body: must be a JSON object with a ref")
  const ref = body.ref
  if (typeof ref !== "string" || ref === "" || ref.length > 255) {
    return Either.left("ref: must be a branch or tag name (or refs/heads/…, refs/tags/…)")
  }
  if (forge === "plain") return Either.right({ kind: "push", forge, ref, commit: undefined })
  const after = forge === "gitlab" && typeof body.checkout_sha === "string" ? body.checkout_sha : body.after
  if (typeof after !== "string" || !/^[0-9a-f]{40}$/.test(after)) {
    if (body.deleted === true || after === null) return Either.right({ kind: "other", forge, reason: `${ref} was deleted` })
    return Either.left("after: must be the pushed commit id (40 hex)")
  }
  if (ZERO.test(after) || body.deleted === true) return Either.right({ kind: "other", forge, reason: `${ref} was deleted` })
  return Either.right({ kind: "push", forge, ref, commit: after })
}
