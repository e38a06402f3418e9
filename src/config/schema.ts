/**
 * Every configuration key Denia understands, with its kind, default and the
 * comment written into the first-boot template. The TOML key is the snake_case
 * form of the property name; the environment override is `DENIA_<KEY>`.
 */
import { subnetProblem } from "../domain/subnet.js"
import * as F from "./fields.js"

interface FieldSpec<A> {
  readonly kind: F.FieldKind<A>
  /** Default value; `undefined` for values derived at load time (see loader). */
  readonly default: A
  readonly doc: string
  readonly secret?: boolean
  /** Section heading printed before this key in the template. */
  readonly section?: string
}

const spec = <A>(s: Omit<FieldSpec<A>, "default"> & { readonly default: NoInfer<A> }): FieldSpec<A> => s

const emailOrEmpty = F.string((
  s
) => (s === "" || /^[^@\s]+@[^@\s]+$/.test(s) ? undefined : `must be an e-mail address, got ${JSON.stringify(s)}`))

export const configFields = {
  adminToken: spec({
    section: "Access",
    kind: F.string((s) => (/^[0-9a-f]{64}$/.test(s) ? undefined : "must be 64 lower-case hex characters")),
    default: "",
    secret: true,
    doc:
      "Bootstrap super-admin bearer token (64 hex). Generated on first boot; to rotate it, put a new value here (`openssl rand -hex 32`) and restart the daemon."
  }),
  bindAddr: spec({
    kind: F.address,
    default: "127.0.0.1:7180",
    doc: "Address of the management API, hosted registry and web console. Keep it on loopback; expose it through control_domain."
  }),
  sessionTtlHours: spec({
    kind: F.integer(1, 24 * 90),
    default: 12,
    doc: "Lifetime of login sessions in hours."
  }),
  trustedProxies: spec({
    kind: F.stringList(F.ipOrCidrProblem),
    default: [],
    doc:
      "IPs/CIDRs of reverse proxies in front of the API whose X-Forwarded-For is believed. Empty = the socket peer (the ingress is recognised on its own)."
  }),
  apiBodyMaxKb: spec({
    kind: F.integer(1, 1024 * 1024),
    default: 1024,
    doc: "Largest request body the API (/v1) accepts, in KiB, whatever its content type (larger bodies get 413)."
  }),
  apiHeaderTimeoutSeconds: spec({
    kind: F.integer(1, 3600),
    default: 20,
    doc: "API listener: a request's header block must arrive within this many seconds (408 otherwise)."
  }),
  apiIdleTimeoutSeconds: spec({
    kind: F.integer(1, 86400),
    default: 120,
    doc:
      "API listener: a connection without any traffic for this many seconds is closed (idle-based: long uploads and log streams that keep moving stay open)."
  }),
  apiMaxConnections: spec({
    kind: F.integer(1, 1_000_000),
    default: 1024,
    doc: "API listener: most concurrent connections; further ones are dropped until some close."
  }),
  dataDir: spec({
    section: "Storage",
    kind: F.path(false),
    default: "~/.local/share/denia",
    doc: "Root of all state: sqlite, artifacts, runtime, logs, registry, oci-cache, uploads, secrets, tls."
  }),
  ageKeyFile: spec({
    kind: F.path(true),
    default: "",
    doc:
      "age identity used to encrypt secrets (created 0600 when missing). Empty = age.key next to this file. BACK IT UP: without it secrets are lost."
  }),
  ageRecipient: spec({
    kind: F.string((s) => (s === "" || /^age1[0-9a-z]{58}$/.test(s) ? undefined : "must be an age X25519 recipient (age1...)")),
    default: "",
    doc: "age recipient to encrypt to. Empty = derived from age_key_file."
  }),
  httpPort: spec({
    section: "Ingress",
    kind: F.port,
    default: 80,
    doc: "Public HTTP port of the ingress."
  }),
  httpsPort: spec({
    kind: F.port,
    default: 443,
    doc: "Public HTTPS port of the ingress."
  }),
  baseDomain: spec({
    kind: F.hostname(false),
    default: "localhost",
    doc: "Every service answers at <service>.<project>.<base_domain> without verification."
  }),
  controlDomain: spec({
    kind: F.hostname(true),
    default: "",
    doc: "Host name on which the ingress serves the console, /v1 and /v2. Empty = not exposed."
  }),
  controlTls: spec({
    kind: F.boolean,
    default: false,
    doc: "Serve control_domain over HTTPS with an ACME certificate."
  }),
  acmeEmail: spec({
    kind: emailOrEmpty,
    default: "",
    doc: "Contact e-mail for the ACME account."
  }),
  acmeDirectoryUrl: spec({
    kind: F.url(false),
    default: "https://acme-v02.api.letsencrypt.org/directory",
    doc: "ACME directory URL (Let's Encrypt production by default)."
  }),
  acmeCaFile: spec({
    kind: F.path(true),
    default: "",
    doc: "Extra CA bundle (PEM) to trust for a private ACME directory."
  }),
  dnsServers: spec({
    kind: F.stringList((s) => (s.length > 0 ? undefined : "must not be empty")),
    default: [],
    doc: "Resolvers for domain verification. Empty = the system's."
  }),
  domainClaimTtlHours: spec({
    kind: F.integer(1, 24 * 365),
    default: 72,
    doc: "A pending (unverified) domain claim expires after this many hours and stops reserving anything."
  }),
  domainVerificationAllowPrivate: spec({
    kind: F.boolean,
    default: false,
    doc: "Let domain verification reach private/LAN addresses (homelab domains, tests)."
  }),
  tcpPortRange: spec({
    kind: F.portRange,
    default: "30000-30999",
    doc: "Public ports allocated to services' raw TCP endpoints."
  }),
  udpPortRange: spec({
    kind: F.portRange,
    default: "31000-31999",
    doc: "Public ports allocated to services' raw UDP endpoints."
  }),
  networkMode: spec({
    section: "Network",
    kind: F.oneOf("bridge", "loopback"),
    default: "bridge",
    doc:
      "bridge: every replica gets an address on the node bridge (egress, service names, TCP/UDP endpoints); loopback: replicas have loopback only."
  }),
  networkBridge: spec({
    kind: F.string((
      s
    ) => (/^[a-z][a-z0-9]{0,9}$/.test(s)
      ? undefined
      : `must be 1-10 lower-case letters and digits starting with a letter, got ${JSON.stringify(s)}`)
    ),
    default: "denia0",
    doc: "Name of the node bridge replicas attach to (nftables table: 'inet denia' with denia0, 'inet denia_<name>' with another bridge)."
  }),
  networkSubnet: spec({
    kind: F.string(subnetProblem),
    default: "10.89.0.0/16",
    doc: "Private IPv4 subnet of the replicas; the bridge takes the first address (also the replicas' DNS server)."
  }),
  networkEgress: spec({
    kind: F.boolean,
    default: true,
    doc: "Let replicas reach the outside world (NAT through the host; enables IPv4 forwarding). false = no egress node-wide."
  }),
  networkPoolSize: spec({
    kind: F.integer(0, 64),
    default: 2,
    doc: "Network namespaces kept ready (veth, address, routes, rules) so a replica start only claims one; 0 = build each at start."
  }),
  usernsBase: spec({
    section: "Runtime",
    kind: F.integer(1, 2 ** 32 - 2),
    default: 100000,
    doc: "First host uid/gid of the range that container uid 0.. maps to."
  }),
  usernsSize: spec({
    kind: F.integer(1, 2 ** 32 - 2),
    default: 65536,
    doc: "Size of the mapped uid/gid range."
  }),
  cgroupRoot: spec({
    kind: F.path(false),
    default: "/sys/fs/cgroup/denia",
    doc: "cgroup v2 directory under which each replica gets <service>/<replica>."
  }),
  defaultCpuMillis: spec({
    kind: F.integer(1, 1_000_000),
    default: 1000,
    doc: "Default CPU limit per replica in millicores when neither service nor project sets one."
  }),
  defaultMemoryMb: spec({
    kind: F.integer(1, 16 * 1024 * 1024),
    default: 512,
    doc: "Default memory limit per replica in MiB."
  }),
  defaultPids: spec({
    kind: F.integer(1, 4_194_304),
    default: 1024,
    doc: "Default process-count limit per replica."
  }),
  defaultNofile: spec({
    kind: F.integer(1024, 1_048_576),
    default: 65536,
    doc: "Hard RLIMIT_NOFILE of every workload (the soft limit is 1024, as container engines set it)."
  }),
  reservedCpuMillis: spec({
    kind: F.integer(0, 1_000_000),
    default: 500,
    doc: "CPU kept free for the host; scale-ups that would use it are refused."
  }),
  reservedMemoryMb: spec({
    kind: F.integer(0, 16 * 1024 * 1024),
    default: 512,
    doc: "Memory kept free for the host, in MiB."
  }),
  stopGraceSeconds: spec({
    kind: F.integer(1, 300),
    default: 10,
    doc: "Seconds a workload gets between SIGTERM and SIGKILL."
  }),
  deploymentsRetained: spec({
    kind: F.integer(1, 100),
    default: 5,
    doc: "Deployments per service whose bundles are kept for rollback."
  }),
  autoscaleIntervalSeconds: spec({
    section: "Autoscaling",
    kind: F.integer(1, 3600),
    default: 15,
    doc: "How often the autoscaler evaluates policies."
  }),
  ociCacheRetentionDays: spec({
    section: "Images",
    kind: F.integer(1, 3650),
    default: 7,
    doc: "Cached layers unused for this many days are garbage collected."
  }),
  ociCacheGcIntervalHours: spec({
    kind: F.integer(1, 24 * 365),
    default: 24,
    doc: "How often the layer cache GC runs."
  }),
  ociCacheVerifyOnHit: spec({
    kind: F.oneOf("none", "size", "full"),
    default: "size",
    doc: "Check a cached layer before reuse: none, size, or full (re-hash)."
  }),
  ociMaxUnpackedMb: spec({
    kind: F.integer(1, 1024 * 1024),
    default: 4096,
    doc: "Largest unpacked image (MiB); bigger images fail acquisition."
  }),
  insecureRegistries: spec({
    kind: F.stringList(),
    default: [],
    doc: "host:port registries that may be reached over plain HTTP and at private/loopback addresses."
  }),
  registryGcIntervalHours: spec({
    section: "Hosted registry",
    kind: F.integer(1, 24 * 365),
    default: 24,
    doc: "How often hosted-registry GC runs."
  }),
  registryGcGraceMinutes: spec({
    kind: F.integer(0, 60 * 24 * 30),
    default: 60,
    doc: "Unreferenced blobs younger than this are kept (pushes in progress)."
  }),
  registryQuotaRepositoryMb: spec({
    kind: F.integer(0, 1024 * 1024 * 1024),
    default: 10240,
    doc: "Most MiB of distinct blobs (layers, configs, manifests) one hosted repository may hold; 0 = unlimited."
  }),
  registryQuotaProjectMb: spec({
    kind: F.integer(0, 1024 * 1024 * 1024),
    default: 51200,
    doc: "Most MiB of distinct blobs all hosted repositories of one project may hold together; 0 = unlimited."
  }),
  uploadMaxMb: spec({
    section: "Builds",
    kind: F.integer(1, 1024 * 1024),
    default: 512,
    doc: "Largest compressed build-context upload (services with source type upload), in MiB."
  }),
  uploadMaxUnpackedMb: spec({
    kind: F.integer(1, 1024 * 1024),
    default: 2048,
    doc: "Largest uncompressed upload context in MiB."
  }),
  uploadMaxEntries: spec({
    kind: F.integer(1, 10_000_000),
    default: 100_000,
    doc: "Most files an upload context may contain."
  }),
  uploadTtlMinutes: spec({
    kind: F.integer(1, 60 * 24 * 7),
    default: 60,
    doc: "Uploads not used by a build within this time are deleted."
  }),
  buildMemoryMb: spec({
    kind: F.integer(64, 1024 * 1024),
    default: 2048,
    doc: "memory.max of each build's cgroup in MiB (where cgroup v2 controllers are usable; see `denia doctor`)."
  }),
  buildTimeoutMinutes: spec({
    kind: F.integer(1, 24 * 60),
    default: 30,
    doc: "A build (buildah build + push) running longer than this is killed and its deployment fails."
  }),
  buildConcurrency: spec({
    kind: F.integer(1, 64),
    default: 1,
    doc: "Builds running at once on this node; further ones queue (shown as `building: queued (n ahead)`)."
  }),
  gitCloneTimeoutSeconds: spec({
    section: "Git sources",
    kind: F.integer(5, 3600),
    default: 300,
    doc: "A Git fetch or ls-remote of a git source that takes longer is killed (the deployment or check fails)."
  }),
  gitCheckoutMaxMb: spec({
    kind: F.integer(1, 1024 * 1024),
    default: 1024,
    doc: "Largest Git checkout (working tree plus .git) a build may use, in MiB."
  }),
  gitCaFile: spec({
    kind: F.string((s) => (s === "" || s.startsWith("/") ? undefined : "must be an absolute path or empty")),
    default: "",
    doc: "Extra CA bundle (PEM) trusted for https:// git sources, e.g. a self-hosted Gitea's private CA. Empty = system CAs only."
  }),
  logLevel: spec({
    section: "Logging",
    kind: F.oneOf("debug", "info", "warning", "error"),
    default: "info",
    doc: "Daemon log level."
  }),
  logFormat: spec({
    kind: F.oneOf("text", "json"),
    default: "text",
    doc: "Daemon log format."
  })
} as const

type Fields = typeof configFields
export type ConfigKey = keyof Fields
type ValueOf<S> = S extends FieldSpec<infer A> ? A : never

/** The effective configuration, after defaults, file and environment. */
export type ConfigValues = { readonly [K in ConfigKey]: ValueOf<Fields[K]> }

export const configKeys = Object.keys(configFields) as ReadonlyArray<ConfigKey>

export const tomlKey = (key: ConfigKey): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
export const envVar = (key: ConfigKey): string => `DENIA_${tomlKey(key).toUpperCase()}`

export const fieldOf = (key: ConfigKey): FieldSpec<unknown> => configFields[key] as FieldSpec<unknown>
