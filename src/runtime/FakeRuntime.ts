/** In-memory Runtime for other subsystems' unit tests. Each started replica
 * gets a real HTTP server on a real Unix socket (in a temp dir), so
 * readiness and health checks, proxies and pools can run against it. */
import { Deferred, Effect, Ref, type Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import {
  errorMessage,
  InvalidReplicaSpec,
  ReadinessTimeout,
  ReplicaAlreadyRunning,
  ReplicaNotFound,
  RuntimeIoError,
  type StartError
} from "./errors.js"
import { validateName, validateRef } from "./names.js"
import { waitForHttp } from "./readiness.js"
import type { RuntimeService } from "./Runtime.js"
import { type ExitStatus, type Replica, replicaId, type ReplicaInfo, type ReplicaSpec } from "./types.js"

export interface FakeRuntimeOptions {
  /** Request handler of every replica (default: 200 "ok <replica id>"). */
  readonly handler?: (spec: ReplicaSpec, req: http.IncomingMessage, res: http.ServerResponse) => void
  /** Return an error to make `start` fail for this spec. */
  readonly failStart?: (spec: ReplicaSpec) => StartError | undefined
}

interface FakeEntry {
  readonly replica: Replica
  readonly server: http.Server | null
  readonly exit: Deferred.Deferred<ExitStatus>
  readonly logs: Array<string>
}

const defaultHandler = (spec: ReplicaSpec, _req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(200, { "content-type": "text/plain" })
  res.end(`ok ${replicaId(spec)}\n`)
}

const listen = (socketPath: string, handler: http.RequestListener) =>
  Effect.async<http.Server, RuntimeIoError>((resume) => {
    const server = http.createServer(handler)
    server.once("error", (e) => resume(Effect.fail(new RuntimeIoError({ op: "listen", path: socketPath, message: e.message, cause: e }))))
    server.listen(socketPath, () => resume(Effect.succeed(server)))
  })

const closeServer = (server: http.Server) =>
  Effect.async<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })

export const makeFakeRuntime = (options: FakeRuntimeOptions = {}): Effect.Effect<RuntimeService, RuntimeIoError, Scope.Scope> =>
  Effect.gen(function*() {
    const base = yield* Effect.acquireRelease(
      Effect.try({
        try: () => fs.mkdtempSync(path.join(os.tmpdir(), "denia-fake-rt-")),
        catch: (e) => new RuntimeIoError({ op: "mkdtemp", path: os.tmpdir(), message: errorMessage(e), cause: e })
      }),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const entries = yield* Ref.make(new Map<string, FakeEntry>())
    let counter = 0

    const stopEntry = (e: FakeEntry) =>
      Effect.gen(function*() {
        if (e.server !== null) yield* closeServer(e.server)
        yield* Deferred.succeed(e.exit, { code: null, signal: 15 })
        yield* Ref.update(entries, (m) => {
          const n = new Map(m)
          n.delete(e.replica.id)
          return n
        })
      })

    const lookup = (id: string) =>
      Ref.get(entries).pipe(
        Effect.flatMap((m) => {
          const e = m.get(id)
          return e === undefined ? Effect.fail(new ReplicaNotFound({ replica: id })) : Effect.succeed(e)
        })
      )

    const start: RuntimeService["start"] = (spec) =>
      Effect.acquireRelease(
        Effect.gen(function*() {
          const ref = yield* validateRef(spec)
          const id = replicaId(ref)
          if (spec.argv.length === 0) {
            return yield* Effect.fail(new InvalidReplicaSpec({ field: "argv", message: "argv must name a program" }))
          }
          const failure = options.failStart?.(spec)
          if (failure !== undefined) return yield* Effect.fail(failure)
          if ((yield* Ref.get(entries)).has(id)) return yield* Effect.fail(new ReplicaAlreadyRunning({ replica: id }))
          const dir = path.join(base, String(++counter))
          yield* Effect.try({
            try: () => fs.mkdirSync(dir),
            catch: (e) => new RuntimeIoError({ op: "mkdir", path: dir, message: errorMessage(e), cause: e })
          })
          const socketPath = path.join(dir, "service.sock")
          const handler = options.handler ?? defaultHandler
          const server = spec.port !== undefined ? yield* listen(socketPath, (req, res) => handler(spec, req, res)) : null
          const exit = yield* Deferred.make<ExitStatus>()
          const replica: Replica = {
            ...ref,
            id,
            socketPath: server !== null ? socketPath : null,
            pid: process.pid,
            startedAt: new Date(),
            dir,
            exit: Deferred.await(exit)
          }
          const entry: FakeEntry = {
            replica,
            server,
            exit,
            logs: [`${new Date().toISOString()} ${ref.replica} stdout started ${spec.argv.join(" ")}`]
          }
          yield* Ref.update(entries, (m) => new Map(m).set(id, entry))
          return entry
        }),
        (e) => Ref.get(entries).pipe(Effect.flatMap((m) => (m.has(e.replica.id) ? stopEntry(e) : Effect.void)))
      ).pipe(Effect.map((e) => e.replica))

    const info = (e: FakeEntry): Effect.Effect<ReplicaInfo> =>
      Deferred.poll(e.exit).pipe(
        Effect.flatMap((o) => (o._tag === "Some" ? o.value : Effect.succeed(null))),
        Effect.map((exitStatus) => ({
          service: e.replica.service,
          deployment: e.replica.deployment,
          replica: e.replica.replica,
          id: e.replica.id,
          pid: e.replica.pid,
          socketPath: e.replica.socketPath,
          startedAt: e.replica.startedAt,
          state: exitStatus === null ? ("running" as const) : ("exited" as const),
          exitStatus,
          cgroup: null
        }))
      )

    return {
      start,
      stop: (ref) => lookup(replicaId(ref)).pipe(Effect.flatMap(stopEntry)),
      list: Ref.get(entries).pipe(Effect.flatMap((m) => Effect.forEach([...m.values()], info))),
      stats: (ref) =>
        lookup(replicaId(ref)).pipe(
          Effect.as({ cpuUsageUsec: 0, memoryBytes: 0, pids: 1, limitsEnforced: false, source: "procfs" as const })
        ),
      waitReady: (ref, opts) =>
        lookup(replicaId(ref)).pipe(
          Effect.flatMap((e) => {
            const timeoutMs = opts?.timeoutMs ?? 10_000
            const sp = e.replica.socketPath
            return (sp === null ? Effect.succeed(false) : waitForHttp(sp, opts?.path ?? "/", timeoutMs)).pipe(
              Effect.flatMap((ok) =>
                ok ? Effect.void : Effect.fail(new ReadinessTimeout({ replica: e.replica.id, timeoutMs, message: "not ready" }))
              )
            )
          })
        ),
      logs: (svc, opts) =>
        validateName("service", svc).pipe(
          Effect.zipRight(Ref.get(entries)),
          Effect.map((m) => {
            const lines = [...m.values()].filter((e) => e.replica.service === svc).flatMap((e) => e.logs)
            const n = opts?.lines ?? 100
            return { path: path.join(base, `${svc}.log`), lines: lines.slice(Math.max(0, lines.length - n)) }
          })
        ),
      sweepOrphans: Effect.succeed({ replicasRemoved: 0, processesKilled: 0, cgroupsRemoved: 0 }),
      status: Effect.succeed({ limitsEnforced: false, cgroupMode: "none" as const, cgroupReason: "fake runtime", helperPath: "" })
    } satisfies RuntimeService
  })
