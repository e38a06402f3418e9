/** What the parts of bench:build share: rounding, the median, timing a child process, waiting for a deployment. */
import { spawn } from "node:child_process"

export const round = (n: number) => Math.round(n * 100) / 100

/** The middle value (the upper one of an even count). */
export const median = (xs: ReadonlyArray<number>) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN

/** Runs `cmd` to its exit; the wall time in seconds, or a rejection with the tail of its output. */
export const run = (cmd: string, args: ReadonlyArray<string>, options: { cwd?: string; env?: Record<string, string> } = {}) =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
    child.stderr.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)))
    child.on(
      "exit",
      (code) =>
        code === 0 ? resolve((performance.now() - started) / 1000) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out}`))
    )
  })

/** Waits (bounded) until the service's newest deployment is no longer pending, building or starting. */
export const settled = async (d: { request: (p: string) => Promise<Response> }, serviceId: string) => {
  for (let i = 0; i < 3000; i++) {
    const r = await d.request(`/v1/services/${serviceId}/deployments`)
    const body = (await r.json()) as { items?: Array<{ status: string }> }
    const newest = body.items?.[0]?.status
    if (newest !== undefined && !["pending", "building", "starting"].includes(newest)) return
    await new Promise((res) => setTimeout(res, 200))
  }
  throw new Error("the upload's deployment did not end")
}
