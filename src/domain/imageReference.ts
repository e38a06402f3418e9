/**
 * Image reference grammar (`[registry/]repo[:tag][@digest]`, Docker Hub
 * defaults). Pure: the service schema validates with it and the OCI client
 * parses with it, so both always agree.
 */
import { Either } from "effect"

/** A normalized image reference. */
export interface ImageReference {
  /** Registry as written by users (`docker.io`, `ghcr.io`, `127.0.0.1:5000`). */
  readonly registry: string
  /** Host[:port] the HTTP API lives at (`registry-1.docker.io` for Docker Hub). */
  readonly apiHost: string
  /** Repository path (`library/nginx`). */
  readonly repository: string
  readonly tag: string | undefined
  readonly digest: string | undefined
}

export const DOCKER_HUB = "docker.io"
export const DOCKER_HUB_API = "registry-1.docker.io"

const repositoryComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const digestPattern = /^sha256:[a-f0-9]{64}$/

/**
 * Parses `[registry/]repo[:tag][@digest]` with Docker Hub defaults:
 * `nginx` → `docker.io/library/nginx:latest`.
 */
export const parseImageReference = (input: string): Either.Either<ImageReference, string> => {
  const reference = input.trim()
  if (reference.length === 0 || reference.length > 1024) {
    return Either.left("reference is empty or too long")
  }
  let rest = reference
  let digest: string | undefined
  const at = rest.indexOf("@")
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!digestPattern.test(digest)) {
      return Either.left("digest must be sha256:<64 lowercase hex>")
    }
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf("/")
  const colon = rest.lastIndexOf(":")
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!tagPattern.test(tag)) return Either.left(`invalid tag "${tag}"`)
  }
  const parts = rest.split("/")
  let registry = DOCKER_HUB
  const first = parts[0] ?? ""
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first
    parts.shift()
  }
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API) registry = DOCKER_HUB
  if (!/^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$/.test(registry) && !/^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$/.test(registry)) {
    return Either.left(`invalid registry host "${registry}"`)
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library")
  if (parts.length === 0 || parts.some((p) => !repositoryComponent.test(p))) {
    return Either.left("repository must be lowercase path components [a-z0-9._-]")
  }
  if (tag === undefined && digest === undefined) tag = "latest"
  return Either.right({
    registry,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry,
    repository: parts.join("/"),
    tag,
    digest
  })
}

/** Canonical string form: `docker.io/library/nginx:latest[@sha256:…]`. */
export const formatReference = (ref: ImageReference): string =>
  `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`
