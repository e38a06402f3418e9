/**
 * How a service reads in lists: its state (from the API's `status`, derived
 * from `promotedDeploymentId` when a daemon does not send it), its source and
 * its default URL. Pure.
 */
import type { Service } from "../../domain/service.js"
import type { IngressHints } from "./connection.js"

export const sourceLabel = (s: Service, projectName: string): string => {
  switch (s.source.type) {
    case "image":
      return s.source.image
    case "hosted":
      return `hosted ${projectName}/${s.name}:${s.source.tag}`
    case "git":
      return `git ${s.source.url}#${s.source.ref}`
    case "upload":
      return "upload"
  }
}

/** `running 1/1`, `crashloop (3 restarts)`, `failed`, `stopped`, `never deployed`, `deploying`; `-` when unknown. */
export const stateLabel = (s: Service): string => {
  const st = s.status
  if (st === undefined) return s.promotedDeploymentId === null ? "-" : "running"
  switch (st.state) {
    case "running":
      return `running ${st.readyReplicas}/${st.desiredReplicas}`
    case "crashloop":
      return `crashloop (${st.restarts} restart${st.restarts === 1 ? "" : "s"})`
    case "never-deployed":
      return "never deployed"
    default:
      return st.state
  }
}

/** The service's `project/service` default hostname as a URL; the port only when it is not the scheme's default. */
export const defaultUrl = (hostname: string, tls: boolean, hints: IngressHints | undefined): string => {
  const port = hints === undefined ? undefined : tls ? hints.httpsPort : hints.httpPort
  const shownPort = port === undefined || port === (tls ? 443 : 80) ? "" : `:${port}`
  return `${tls ? "https" : "http"}://${hostname}${shownPort}`
}

export interface KnownRoute {
  readonly hostname: string
  readonly tlsEnabled: boolean
}

/**
 * The URL a service answers at: the ingress' own route when the caller may
 * read the route table, else `<service>.<project>.<base_domain>` from this
 * host's config when the CLI talks to this host's daemon, else the pattern
 * with `<base_domain>` left for the reader.
 */
export const serviceUrl = (s: Service, projectName: string, route: KnownRoute | undefined, hints: IngressHints | undefined): string => {
  if (s.port === null) return "- (worker)"
  if (route !== undefined) return defaultUrl(route.hostname, route.tlsEnabled, hints)
  const base = hints?.baseDomain ?? "<base_domain>"
  return defaultUrl(`${s.name}.${projectName}.${base}`.toLowerCase(), s.tlsEnabled, hints)
}

/** `tcp 6379 → <host>:30000` per endpoint (`<host>` is the daemon's host as the CLI reaches it); `-` without any. */
export const endpointsLabel = (s: Service, host: string): string =>
  s.endpoints.length === 0
    ? "-"
    : s.endpoints.map((e) => `${e.protocol} ${e.port} → ${e.publicPort === undefined ? "(no public port)" : `${host}:${e.publicPort}`}`)
      .join(", ")
