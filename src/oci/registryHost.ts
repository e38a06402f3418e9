/**
 * Registry host identity for credential scoping: a project registry's
 * credentials go only to the registry whose `host[:port]` equals its
 * endpoint after normalisation (lower case, no default HTTPS port, Docker
 * Hub's aliases folded into `docker.io`).
 */
import { DOCKER_HUB } from "./reference.js"

const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"])

/** `Registry-1.Docker.IO:443` → `docker.io`; `ghcr.io:443` → `ghcr.io`; `127.0.0.1:5000` unchanged. */
export const normalizeRegistryHost = (hostPort: string): string => {
  const lower = hostPort.trim().toLowerCase()
  const withoutPort = lower.endsWith(":443") ? lower.slice(0, -4) : lower
  return DOCKER_HUB_ALIASES.has(withoutPort) ? DOCKER_HUB : withoutPort
}

/** True when an image's registry (as parsed from its reference) is the registry at `endpoint`. */
export const sameRegistryHost = (endpoint: string, imageRegistry: string): boolean =>
  normalizeRegistryHost(endpoint) === normalizeRegistryHost(imageRegistry)
