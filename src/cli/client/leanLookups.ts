/**
 * The lean push's requests before the upload (ADR 0811, 0812): the project and service lookups and,
 * for `--create`, the service's creation — node:http(s) and JSON only. Every failure is undefined: the
 * lean path then declines and the full CLI makes the request again and reports it.
 */
import * as http from "node:http"
import * as https from "node:https"
import type { LeanConnection } from "./leanConnection.js"

export const plainTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date)

/**
 * A JSON request (GET, or POST of `body`) answered with `expect`; the decoded answer, undefined on any
 * other outcome (the full CLI then makes the request and reports it).
 */
const requestJson = (connection: LeanConnection, pathname: string, expect: number, body?: unknown): Promise<unknown> =>
  new Promise((resolve) => {
    let target: URL
    try {
      target = new URL(`${connection.url}${pathname}`)
    } catch {
      return resolve(undefined)
    }
    if (target.protocol !== "http:" && target.protocol !== "https:") return resolve(undefined)
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = (target.protocol === "https:" ? https : http).request(target, {
      method: payload === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${connection.token}`,
        accept: "application/json",
        ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": String(payload.length) })
      }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", () => resolve(undefined))
      res.on("end", () => {
        if (res.statusCode !== expect) return resolve(undefined)
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
        } catch {
          resolve(undefined)
        }
      })
    })
    req.on("error", () => resolve(undefined))
    req.end(payload)
  })

const getJson = (connection: LeanConnection, pathname: string) => requestJson(connection, pathname, 200)

export interface Named {
  readonly id: string
  readonly name: string
  readonly projectId?: string
  /** A service's port and TLS flag, for the URL printed at `healthy` (when the listing has them). */
  readonly port?: number | null
  readonly tlsEnabled?: boolean
}

const namedOf = (item: unknown): Named | undefined => {
  if (!plainTable(item) || typeof item["id"] !== "string" || typeof item["name"] !== "string") return undefined
  const { projectId, port, tlsEnabled } = item
  return {
    id: item["id"],
    name: item["name"],
    ...(typeof projectId === "string" ? { projectId } : {}),
    ...(typeof port === "number" || port === null ? { port } : {}),
    ...(typeof tlsEnabled === "boolean" ? { tlsEnabled } : {})
  }
}

const itemsOf = (body: unknown): ReadonlyArray<Named> | undefined => {
  if (!plainTable(body) || !Array.isArray(body["items"])) return undefined
  const out: Array<Named> = []
  for (const item of body["items"]) {
    const named = namedOf(item)
    if (named === undefined) return undefined
    out.push(named)
  }
  return out
}

/**
 * The project by name and the service in it (undefined when it does not exist), from two list requests
 * made at once (resolve.ts makes them one after the other); undefined when the project is not found.
 */
export const findService = async (connection: LeanConnection, project: string, service: string) => {
  const [projects, services] = await Promise.all([getJson(connection, "/v1/projects"), getJson(connection, "/v1/services")])
  const p = itemsOf(projects)?.find((x) => x.name === project)
  if (p === undefined) return undefined
  const listed = itemsOf(services)
  if (listed === undefined) return undefined
  return { project: p, service: listed.find((x) => x.name === service && x.projectId === p.id) }
}

/**
 * A service created from `body` (push.ts sends manifest.ts `createBodyOf`); undefined when the daemon
 * did not answer 201 with a service (nothing was created then, or the full CLI finds it existing).
 */
export const createService = async (connection: LeanConnection, body: unknown): Promise<Named | undefined> =>
  namedOf(await requestJson(connection, "/v1/services", 201, body))
