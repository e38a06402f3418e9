import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import type { TestDaemon } from "./daemon.js"

export interface DeploymentView {
  id: string
  status: string
  error?: string
  imageDigest?: string
}

const TERMINAL = new Set(["healthy", "failed", "stopped"])

/** Polls a deployment until it reaches a terminal status (bounded). */
export const waitForDeployment = async (d: TestDaemon, id: string, timeoutMs = 60_000): Promise<DeploymentView> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await d.request(`/v1/deployments/${id}`)
    const dep = (await r.json()) as DeploymentView
    if (TERMINAL.has(dep.status)) return dep
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${dep.status} after ${timeoutMs} ms`)
    await new Promise((res) => setTimeout(res, 100))
  }
}

/** Runtime directory name of a deployment (see src/deploy/runtimeNames.ts). */
export const deploymentDirName = (deploymentId: string): string => `d${deploymentId.replace(/-/g, "").slice(-12)}`

/** Sockets of running replicas, optionally only those of one deployment (from the runtime's directory layout). */
export const replicaSockets = (dataDir: string, deploymentId?: string): Array<string> => {
  const root = path.join(dataDir, "runtime")
  const out: Array<string> = []
  if (!fs.existsSync(root)) return out
  for (const s of fs.readdirSync(root)) {
    for (const dep of fs.readdirSync(path.join(root, s))) {
      if (deploymentId !== undefined && dep !== deploymentDirName(deploymentId)) continue
      const depDir = path.join(root, s, dep)
      if (!fs.statSync(depDir).isDirectory()) continue
      for (const r of fs.readdirSync(depDir)) {
        const sock = path.join(depDir, r, "sock", "service.sock")
        if (fs.existsSync(sock)) out.push(sock)
      }
    }
  }
  return out
}

/** GET over a Unix socket. */
export const getViaSocket = (socketPath: string, urlPath = "/"): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, headers: { host: "x" }, agent: false }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.setTimeout(5000, () => req.destroy(new Error("timeout")))
    req.end()
  })

/** Reads an SSE response to its `end` event (bounded); returns the raw text. */
export const readSse = async (r: Response, timeoutMs = 60_000): Promise<string> => {
  const reader = r.body?.getReader()
  if (reader === undefined) return ""
  const decoder = new TextDecoder()
  let text = ""
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value, { stream: true })
    if (text.includes("event: end")) break
  }
  await reader.cancel().catch(() => undefined)
  return text
}
