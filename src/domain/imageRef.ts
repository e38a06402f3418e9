/**
 * Image references as users write them (`nginx`, `ghcr.io/o/app:1.2`,
 * `registry:5000/x@sha256:…`), normalised the way Docker does: no registry
 * means Docker Hub, a single path component there means `library/`.
 */
export interface ImageRef {
  readonly registry: string
  readonly repository: string
  readonly tag: string | undefined
  readonly digest: string | undefined
}

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const DIGEST = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/
const REGISTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d{1,5})?$/

export const DOCKER_HUB = "docker.io"

export const parseImageRef = (input: string): ImageRef | string => {
  if (input.length === 0) return "must not be empty"
  if (input.length > 512) return "must be at most 512 characters"
  let rest = input
  let digest: string | undefined
  const at = rest.indexOf("@")
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) return `has an invalid digest ${JSON.stringify(digest)}`
  }
  let tag: string | undefined
  const lastSlash = rest.lastIndexOf("/")
  const colon = rest.lastIndexOf(":")
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) return `has an invalid tag ${JSON.stringify(tag)}`
  }
  const parts = rest.split("/")
  let registry = DOCKER_HUB
  const first = parts[0] ?? ""
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("["))) {
    if (!REGISTRY.test(first)) return `has an invalid registry host ${JSON.stringify(first)}`
    registry = first === "index.docker.io" || first === "registry-1.docker.io" ? DOCKER_HUB : first
    parts.shift()
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) {
    return `has an invalid repository ${JSON.stringify(parts.join("/"))} (lower-case letters, digits and . _ - separators)`
  }
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift("library")
  return { registry, repository: parts.join("/"), tag: tag ?? (digest === undefined ? "latest" : undefined), digest }
}

export const formatImageRef = (ref: ImageRef): string =>
  `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`
