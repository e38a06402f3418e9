/**
 * Shared setup for hosted-registry tests: a real daemon, projects/services,
 * users with roles and API tokens created through the API, and a small raw
 * HTTP helper for /v2 calls.
 */
import { createHash } from "node:crypto"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../support/daemon.js"

export { ADMIN_TOKEN }

export const sha256 = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`

export const basic = (password: string, username = "ignored") => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`

export interface Fixture {
  readonly d: TestDaemon
  readonly host: string
  /** Creates a project (or finds it) and returns its id. */
  readonly project: (name: string) => Promise<string>
  /** Creates a service in the project (hosted source) and returns its id. */
  readonly service: (projectId: string, name: string) => Promise<string>
  /** Creates a user with an API token, optionally a member of the project with the role. */
  readonly user: (username: string, membership?: { projectId: string; role: "viewer" | "operator" | "admin" }) => Promise<string>
  /** /v2 request with an Authorization header (admin bearer by default, null = none). */
  readonly v2: (path: string, init?: RequestInit & { auth?: string | null }) => Promise<Response>
}

let bootstrapped = false

export const startFixture = async (overrides: Record<string, unknown> = {}): Promise<Fixture> => {
  const d = await startTestDaemon(overrides)
  bootstrapped = false
  const ok = async (r: Response, what: string) => {
    if (!r.ok) throw new Error(`${what}: ${r.status} ${await r.text()}`)
    return r
  }
  const project = async (name: string) => {
    const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
    const found = list.items.find((p) => p.name === name)
    if (found) return found.id
    const r = await ok(await d.request("/v1/projects", { method: "POST", json: { name } }), "create project")
    return ((await r.json()) as { id: string }).id
  }
  const service = async (projectId: string, name: string) => {
    const r = await ok(
      await d.request("/v1/services", { method: "POST", json: { projectId, name, source: { type: "hosted", tag: "latest" }, port: 8080 } }),
      "create service"
    )
    return ((await r.json()) as { id: string }).id
  }
  const user = async (username: string, membership?: { projectId: string; role: "viewer" | "operator" | "admin" }) => {
    const password = `${username}-password-long`
    if (!bootstrapped) {
      await ok(
        await d.request("/v1/bootstrap", { method: "POST", json: { username: "root-admin", password: "root-admin-password" } }),
        "bootstrap"
      )
      bootstrapped = true
    }
    const created = await ok(await d.request("/v1/users", { method: "POST", json: { username, password } }), "create user")
    const userId = ((await created.json()) as { id: string }).id
    if (membership) {
      await ok(
        await d.request(`/v1/projects/${membership.projectId}/members`, { method: "POST", json: { userId, role: membership.role } }),
        "add member"
      )
    }
    const login = await ok(await d.request("/v1/auth/login", { method: "POST", token: null, json: { username, password } }), "login")
    const session = ((await login.json()) as { token: string }).token
    const minted = await ok(await d.request("/v1/api-tokens", { method: "POST", token: session, json: { name: "registry" } }), "mint token")
    return ((await minted.json()) as { token: string }).token
  }
  const v2 = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const { auth, ...rest } = init
    const headers = new Headers(rest.headers)
    const value = auth === undefined ? `Bearer ${ADMIN_TOKEN}` : auth
    if (value !== null) headers.set("authorization", value)
    return fetch(`${d.url}${path}`, { ...rest, headers, redirect: "manual" })
  }
  return { d, host: d.config.values.bindAddr, project, service, user, v2 }
}

export const errorCode = async (r: Response): Promise<string | undefined> => {
  const body = (await r.json()) as { errors?: Array<{ code: string }> }
  return body.errors?.[0]?.code
}

/** Pushes a blob monolithically; returns its digest. */
export const pushBlob = async (f: Fixture, repo: string, bytes: Uint8Array | string, auth?: string | null): Promise<string> => {
  const digest = sha256(bytes)
  const r = await f.v2(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "application/octet-stream" },
    ...(auth !== undefined ? { auth } : {})
  })
  if (r.status !== 201) throw new Error(`push blob: ${r.status} ${await r.text()}`)
  return digest
}

/** Pushes a minimal OCI image manifest referencing a fresh config blob and the given layers. */
export const pushImage = async (
  f: Fixture,
  repo: string,
  tag: string,
  layers: ReadonlyArray<string | Uint8Array>,
  extra: Record<string, unknown> = {}
) => {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, tag, n: Math.random() })
  const configDigest = await pushBlob(f, repo, config)
  const layerDescs = []
  for (const l of layers) {
    const digest = await pushBlob(f, repo, l)
    layerDescs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest, size: Buffer.byteLength(l) })
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: Buffer.byteLength(config) },
    layers: layerDescs,
    ...extra
  })
  const r = await f.v2(`/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    body: manifest,
    headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" }
  })
  if (r.status !== 201) throw new Error(`push manifest: ${r.status} ${await r.text()}`)
  return { digest: sha256(manifest), manifest, configDigest, layers: layerDescs.map((l) => l.digest) }
}

/** Runs SQL against the daemon's database file through a second connection (WAL allows it). */
export const sqlOnDaemonDb = async (f: Fixture, statement: string): Promise<ReadonlyArray<Record<string, unknown>>> => {
  const { SqlClient } = await import("@effect/sql")
  const { Effect } = await import("effect")
  const { sqliteLayer } = await import("../../../src/db/Database.js")
  return Effect.runPromise(
    Effect.scoped(
      Effect.provide(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<Record<string, unknown>>(statement)),
        sqliteLayer(f.d.config.paths.sqlite)
      )
    )
  )
}

export interface GcRunBody {
  readonly id: string
  readonly status: "running" | "done" | "failed"
  readonly blobsDeleted: number
  readonly bytesFreed: number
  readonly uploadsExpired: number
}

/** POST /v1/registry/gc and poll the run until it finishes. */
export const runGc = async (f: Fixture): Promise<GcRunBody> => {
  const started = await f.d.request("/v1/registry/gc", { method: "POST" })
  if (started.status !== 202) throw new Error(`gc: ${started.status} ${await started.text()}`)
  let run = (await started.json()) as GcRunBody
  for (let i = 0; i < 200 && run.status === "running"; i++) {
    await new Promise((r) => setTimeout(r, 25))
    run = (await (await f.d.request(`/v1/registry/gc/${run.id}`)).json()) as GcRunBody
  }
  return run
}
