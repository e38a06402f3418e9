/** Helpers to create users, memberships and tokens through the API in tests. */
import type { TestDaemon } from "./daemon.js"

export const PASSWORD = "correct horse battery staple"

let ipCounter = 1
export const nextIp = (): string => {
  ipCounter += 1
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`
}

export const json = async <A>(r: Response): Promise<A> => (await r.json()) as A

export const ensureBootstrap = async (d: TestDaemon, username = "root") => {
  const r = await d.request("/v1/bootstrap", { method: "POST", json: { username, password: PASSWORD } })
  if (r.status !== 201 && r.status !== 409) throw new Error(`bootstrap failed: ${r.status} ${await r.text()}`)
}

export const createUser = async (d: TestDaemon, username: string, superAdmin = false) => {
  const r = await d.request("/v1/users", {
    method: "POST",
    json: { username, password: PASSWORD, superAdmin },
    headers: { "x-forwarded-for": nextIp() }
  })
  if (r.status !== 201) throw new Error(`create user ${username}: ${r.status} ${await r.text()}`)
  return json<{ id: string; username: string }>(r)
}

export const login = async (d: TestDaemon, username: string, password = PASSWORD) => {
  const r = await d.request("/v1/auth/login", {
    method: "POST",
    token: null,
    json: { username, password },
    headers: { "x-forwarded-for": nextIp() }
  })
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${await r.text()}`)
  return json<{ token: string; expiresAt: string }>(r)
}

export const addMember = async (d: TestDaemon, projectId: string, userId: string, role: "viewer" | "operator" | "admin") => {
  const r = await d.request(`/v1/projects/${projectId}/members`, {
    method: "POST",
    json: { userId, role },
    headers: { "x-forwarded-for": nextIp() }
  })
  if (r.status !== 201) throw new Error(`add member: ${r.status} ${await r.text()}`)
}

export const createProject = async (d: TestDaemon, name: string) => {
  const r = await d.request("/v1/projects", { method: "POST", json: { name }, headers: { "x-forwarded-for": nextIp() } })
  if (r.status !== 201) throw new Error(`create project ${name}: ${r.status} ${await r.text()}`)
  return json<{ id: string }>(r)
}

export const createService = async (d: TestDaemon, projectId: string, name: string, env: Record<string, string> = {}) => {
  const r = await d.request("/v1/services", {
    method: "POST",
    json: { projectId, name, port: 8080, source: { type: "image", image: "busybox" }, env },
    headers: { "x-forwarded-for": nextIp() }
  })
  if (r.status !== 201) throw new Error(`create service ${name}: ${r.status} ${await r.text()}`)
  return json<{ id: string }>(r)
}
