/**
 * Storage quotas of the hosted registry (ADR 0011): a repository and a
 * project may hold at most so many bytes of distinct blobs (layers, configs,
 * manifests) linked to them. A blob linked twice counts once; a blob linked to
 * two repositories of one project counts once for the project.
 *
 * Two checks: while a chunk streams, linked bytes plus the bytes of the scope's
 * open upload sessions plus the chunk must stay under the limit (so parallel
 * sessions cannot fill the disk); when a blob or manifest is linked, linked
 * bytes plus the new blob (when it is new to the scope) must stay under it.
 * That second check runs under the store lock together with the link, so it
 * is exact.
 */
import type { Repository } from "./access.js"
import { DistributionError, ociError } from "./errors.js"

export interface Quotas {
  /** Bytes; 0 = unlimited. */
  readonly repositoryBytes: number
  readonly projectBytes: number
}

export const quotasFromMb = (repositoryMb: number, projectMb: number): Quotas => ({
  repositoryBytes: repositoryMb * 1024 * 1024,
  projectBytes: projectMb * 1024 * 1024
})

export interface ScopeUsage {
  /** Bytes of distinct blobs linked. */
  readonly linked: number
  /** Bytes held by open upload sessions. */
  readonly open: number
}

export interface Usage {
  readonly repository: ScopeUsage
  readonly project: ScopeUsage
}

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1)

const KEYS = { repository: "registry_quota_repository_mb", project: "registry_quota_project_mb" } as const

/** The refusal: 413 with the OCI code DENIED, naming the quota key, the scope and the figures. */
export const quotaExceeded = (scope: "repository" | "project", r: Repository, limit: number, wouldHold: number): DistributionError => {
  const who = scope === "repository" ? `repository ${r.name}` : `project ${r.name.split("/")[0] ?? ""}`
  return ociError(
    "DENIED",
    `${KEYS[scope]}: ${who} would hold ${mib(wouldHold)} MiB, over its quota of ${mib(limit)} MiB; the upload was discarded`,
    { quota: KEYS[scope], limitBytes: limit, wouldHoldBytes: wouldHold },
    413
  )
}

export const isQuotaRefusal = (e: unknown): boolean => e instanceof DistributionError && e.code === "DENIED" && e.status === 413

export interface Headroom {
  /** More bytes the session may receive; Infinity when no quota applies. */
  readonly bytes: number
  /** The error to answer once they are exceeded (by `extra` more bytes). */
  readonly refuse: (extra: number) => DistributionError
}

/** A blob the upload claims to be (its final digest), when it is already linked somewhere in the scopes. */
export interface KnownClaim {
  /** Bytes the session may still receive and match that blob. */
  readonly remaining: number
  readonly repository: boolean
  readonly project: boolean
}

/**
 * How many more bytes an upload session may stream. `usage.*.open` already
 * includes this session's recorded size. In a scope that already holds the
 * claimed blob, bytes up to its size are free (they can only match it; the
 * digest is verified at commit).
 */
export const streamHeadroom = (q: Quotas, r: Repository, usage: Usage, claim?: KnownClaim): Headroom => {
  const scopes = [
    {
      scope: "repository" as const,
      limit: q.repositoryBytes,
      used: usage.repository.linked + usage.repository.open,
      free: claim?.repository === true
    },
    { scope: "project" as const, limit: q.projectBytes, used: usage.project.linked + usage.project.open, free: claim?.project === true }
  ].filter((s) => s.limit > 0)
  let best: Headroom = { bytes: Number.POSITIVE_INFINITY, refuse: () => quotaExceeded("repository", r, 0, 0) }
  for (const s of scopes) {
    const bytes = Math.max(s.limit - s.used, 0, s.free ? (claim?.remaining ?? 0) : 0)
    if (bytes < best.bytes) best = { bytes, refuse: (extra) => quotaExceeded(s.scope, r, s.limit, s.used + extra) }
  }
  return best
}

/** Whether linking a blob of `size` bytes stays within the quotas; the refusal otherwise. */
export const linkCheck = (
  q: Quotas,
  r: Repository,
  usage: Usage,
  size: number,
  alreadyLinked: { readonly repository: boolean; readonly project: boolean }
): DistributionError | undefined => {
  const repo = usage.repository.linked + (alreadyLinked.repository ? 0 : size)
  if (q.repositoryBytes > 0 && !alreadyLinked.repository && repo > q.repositoryBytes) {
    return quotaExceeded("repository", r, q.repositoryBytes, repo)
  }
  const project = usage.project.linked + (alreadyLinked.project ? 0 : size)
  if (q.projectBytes > 0 && !alreadyLinked.project && project > q.projectBytes) return quotaExceeded("project", r, q.projectBytes, project)
  return undefined
}
