/**
 * What a Git-source service follows and whether an observation deploys: the
 * branch (`autoDeploy.branch`, else the source's `ref`, `main` when that is
 * `HEAD` — the webhook cannot tell the default branch), or the tags matching
 * `autoDeploy.tagPattern`. A trigger deploys only a commit other than the
 * last one seen or deployed.
 */
import type { AutoDeploy, GitSource } from "../domain/service.js"
import { globToRegExp } from "./tags.js"

export type Follow = { readonly kind: "branch"; readonly branch: string } | { readonly kind: "tags"; readonly pattern: string }

export const followOf = (source: typeof GitSource.Type, autoDeploy: AutoDeploy): Follow =>
  autoDeploy.tagPattern !== undefined
    ? { kind: "tags", pattern: autoDeploy.tagPattern }
    : { kind: "branch", branch: autoDeploy.branch ?? (source.ref === "HEAD" ? "main" : source.ref) }

/** The ref to deploy for a pushed ref, or why the push is not followed. */
export const matchPushedRef = (follow: Follow, pushed: string): { readonly ref: string } | { readonly ignored: string } => {
  if (follow.kind === "branch") {
    const branch = pushed.startsWith("refs/heads/") ? pushed.slice("refs/heads/".length) : pushed.startsWith("refs/") ? undefined : pushed
    return branch === follow.branch ? { ref: branch } : { ignored: `${pushed} is not the followed branch ${follow.branch}` }
  }
  const tag = pushed.startsWith("refs/tags/") ? pushed.slice("refs/tags/".length) : pushed.startsWith("refs/") ? undefined : pushed
  return tag !== undefined && globToRegExp(follow.pattern).test(tag)
    ? { ref: tag }
    : { ignored: `${pushed} is not a tag matching ${follow.pattern}` }
}

/** Deploy only a commit that differs from the last one seen (or deployed). */
export const commitChanged = (seen: string | undefined, observed: string): boolean => seen !== observed
