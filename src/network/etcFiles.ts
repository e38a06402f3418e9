/**
 * What a replica on the node network sees in `/etc` (pure): its own address
 * in `/etc/hosts`, and the embedded DNS server on the bridge address with the
 * project's search domain in `/etc/resolv.conf`.
 */
import type { EtcFiles } from "../runtime/types.js"

export const INTERNAL_ZONE = "internal"

/** `<project>.internal`: the search domain of a project's replicas. */
export const projectDomain = (projectName: string) => `${projectName}.${INTERNAL_ZONE}`

/** `<service>.<project>.internal` */
export const serviceFqdn = (serviceName: string, projectName: string) => `${serviceName}.${projectDomain(projectName)}`

export interface EtcInput {
  readonly hostname: string
  readonly address: string
  readonly nameserver: string
  readonly serviceName: string
  readonly projectName: string
}

export const replicaEtcFiles = (i: EtcInput): EtcFiles => ({
  hostname: `${i.hostname}\n`,
  hosts: [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    `${i.address}\t${i.hostname} ${serviceFqdn(i.serviceName, i.projectName)}`,
    ""
  ].join("\n"),
  resolvConf: [`nameserver ${i.nameserver}`, `search ${projectDomain(i.projectName)}`, "options ndots:1", ""].join("\n")
})
