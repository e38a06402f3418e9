/**
 * Test daemons: in-process (the real Layer graph on a temp data dir and a
 * random port) and as a child process running the built CLI.
 */
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { decodeConfig, type LoadedConfig } from "../../src/config/load.js"
import { derivePaths } from "../../src/config/paths.js"
import { type DaemonInternals, daemonLayer } from "../../src/daemon/layers.js"
import { describeChildren } from "./childProcesses.js"
import { freePorts } from "./ports.js"
import { makeTempDir } from "./tempDir.js"

export const ADMIN_TOKEN = "a".repeat(64)
export const repoRoot = path.resolve(import.meta.dirname, "../..")
export const cliEntry = path.join(repoRoot, "dist", "main.js")

export interface TestDaemon {
  readonly url: string
  readonly config: LoadedConfig
  readonly dataDir: string
  /** fetch relative to the daemon URL with the admin token unless `token` is given (null = none). */
  readonly request: (path: string, init?: RequestInit & { token?: string | null; json?: unknown }) => Promise<Response>
  readonly stop: () => Promise<void>
}

export const testConfig = async (dir: string, overrides: Record<string, unknown> = {}): Promise<LoadedConfig> => {
  const [port, httpPort, httpsPort] = await freePorts(3)
  const table = {
    admin_token: ADMIN_TOKEN,
    bind_addr: `127.0.0.1:${port}`,
    data_dir: path.join(dir, "data"),
    log_level: "error",
    // the public ingress listens too: never on 80/443 in tests
    http_port: httpPort,
    https_port: httpsPort,
    // suites spread their many logins over X-Forwarded-For addresses (support/identity.ts `nextIp`) to stay
    // under the per-IP throttles: the test client is a trusted proxy. test/integration/security/ covers the default ([]).
    trusted_proxies: ["127.0.0.1"],
    // replicas stay loopback-only unless a suite opts into the node network (test/support/network.ts): parallel daemons share no bridge
    network_mode: "loopback",
    ...overrides
  }
  const values = await Effect.runPromise(decodeConfig(table, {}, "test"))
  return { values, paths: derivePaths(path.join(dir, "config.toml"), values.dataDir, ""), created: false }
}

export const makeRequest = (url: string) => (p: string, init: RequestInit & { token?: string | null; json?: unknown } = {}) => {
  const { token, json, ...rest } = init
  const headers = new Headers(rest.headers)
  const bearer = token === undefined ? ADMIN_TOKEN : token
  if (bearer !== null) headers.set("authorization", `Bearer ${bearer}`)
  if (json !== undefined) headers.set("content-type", "application/json")
  return fetch(`${url}${p}`, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) })
}

/** A stop still going after this long prints what the process still holds (a test's hook timeout is 60 s). */
const SLOW_STOP_MS = 30_000

/** What a test daemon whose stop hangs still has: its children, Node's open resources, its root fibers. */
const reportSlowStop = async (dataDir: string) => {
  const fibers = await Effect.runPromise(
    Effect.flatMap(Fiber.roots, (roots) => Effect.forEach(roots.slice(0, 50), (f) => Fiber.pretty(f)))
  ).catch((e: unknown) => [`(fibers unavailable: ${String(e)})`])
  process.stderr.write(
    [
      `test daemon on ${dataDir}: stop still running after ${SLOW_STOP_MS / 1000} s`,
      `children: ${describeChildren().join("; ") || "none"}`,
      `resources: ${process.getActiveResourcesInfo().join(", ")}`,
      ...fibers,
      ""
    ].join("\n")
  )
}

export const startTestDaemon = async (overrides: Record<string, unknown> = {}, internals: DaemonInternals = {}): Promise<TestDaemon> => {
  const temp = makeTempDir()
  const config = await testConfig(temp.dir, overrides)
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(Layer.buildWithScope(daemonLayer(config, internals), scope))
  const url = `http://${config.values.bindAddr}`
  return {
    url,
    config,
    dataDir: config.paths.dataDir,
    request: makeRequest(url),
    stop: async () => {
      const slow = setTimeout(() => void reportSlowStop(config.paths.dataDir), SLOW_STOP_MS)
      try {
        await Effect.runPromise(Scope.close(scope, Exit.void))
      } finally {
        clearTimeout(slow)
      }
      temp.cleanup()
    }
  }
}

export interface ChildRun {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs the built CLI (`dist/main.js`) with the given args and environment. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>, stdin?: string): ChildRun => {
  const child = spawn(process.execPath, [cliEntry, ...args], {
    // loopback-only replicas unless the test opts into the node network (test/support/network.ts)
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: env["HOME"] ?? process.env["HOME"] ?? "/root",
      DENIA_NETWORK_MODE: "loopback",
      ...env
    },
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
  })
  if (stdin !== undefined) child.stdin?.end(stdin)
  let out = ""
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { child, output: () => out, exited }
}

/**
 * Stops a daemon started with `runCli` the way an operator does (SIGTERM: its replicas are stopped
 * with it), SIGKILL only if it has not exited after `timeoutMs`. Tests that SIGKILL on purpose do it
 * themselves; an `afterAll` uses this so that no replica outlives the test.
 */
export const stopCliDaemon = async (run: ChildRun | undefined, timeoutMs = 30_000): Promise<void> => {
  if (run === undefined || run.child.exitCode !== null || run.child.signalCode !== null) return
  run.child.kill("SIGTERM")
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs)
  await run.exited
  clearTimeout(timer)
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export const waitFor = async (check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

/** Starts the built CLI as a daemon with `env` and waits (bounded) until `${url}/healthz` answers. */
export const startCliDaemon = async (env: Record<string, string>, url: string, timeoutMs = 30_000): Promise<ChildRun> => {
  const daemon = runCli([], env)
  await waitFor(async () => fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false), timeoutMs)
  return daemon
}

/** Polls `GET /v1/deployments/{id}` until its status is one of `wanted`; returns that status. */
export const waitForDeploymentStatus = async (
  request: (p: string) => Promise<Response>,
  id: string,
  wanted: ReadonlyArray<string>,
  timeoutMs = 60_000
): Promise<string> => {
  let status = ""
  await waitFor(async () => {
    status = ((await (await request(`/v1/deployments/${id}`)).json()) as { status: string }).status
    return wanted.includes(status)
  }, timeoutMs)
  return status
}
