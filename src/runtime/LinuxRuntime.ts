/** The production Runtime: replicas launched by the static helper. */
import { Deferred, Effect, Ref, type Scope } from "effect"
import * as fsSync from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type CgroupDriver, detectCgroup, makeCgroupDriver } from "./cgroup.js"
import {
  errorMessage,
  HelperMissing,
  ReadinessTimeout,
  ReplicaAlreadyRunning,
  ReplicaNotFound,
  RuntimeIoError,
  RuntimeLaunchError,
  type StartError,
  UnsafePathError
} from "./errors.js"
import { generateEtcFiles, HOST_RESOLV_CONF, readSmallFile, writeEtcFiles } from "./etcFiles.js"
import { exitReason } from "./exitStatus.js"
import { type HelperHandle, spawnHelper } from "./helperProcess.js"
import { envDefaults, readRootfsPasswd } from "./imageEnv.js"
import { LineSink, LogRegistry } from "./logs.js"
import { validateName, validateRef } from "./names.js"
import {
  checkRootfs,
  MAX_SOCKET_PATH,
  mkdirsBelow,
  pruneEmptyParents,
  removeTree,
  type ReplicaDirs,
  replicaDirs,
  runtimeRoot
} from "./paths.js"
import { readStat, treeStats } from "./procfs.js"
import { waitForHttp } from "./readiness.js"
import type { RuntimeService } from "./Runtime.js"
import { defaultHostname, toLaunchSpec, validateSpec } from "./spec.js"
import { killLauncherTree, sweepReplicaDirs, writeState } from "./sweep.js"
import {
  type ExitStatus,
  type ReadinessOptions,
  type Replica,
  replicaId,
  type ReplicaInfo,
  type ReplicaRef,
  type ReplicaSpec,
  type RuntimeOptions
} from "./types.js"

interface Entry {
  readonly replica: Replica
  readonly dirs: ReplicaDirs
  readonly cgroup: string | null
  readonly handle: HelperHandle
  readonly exit: Deferred.Deferred<ExitStatus>
  readonly stop: Effect.Effect<void>
}

const DEFAULT_READY_TIMEOUT_MS = 10_000

const ioError = (op: string, p: string) => (e: unknown) => new RuntimeIoError({ op, path: p, message: errorMessage(e), cause: e })

const checkHelper = (helperPath: string) =>
  Effect.sync(() => fsSync.statSync(helperPath, { throwIfNoEntry: false })).pipe(
    Effect.flatMap((st) =>
      st === undefined
        ? Effect.fail(new HelperMissing({ path: helperPath, message: "runtime helper not built (run `npm run build:native`)" }))
        : st.isFile() && (st.mode & 0o111) !== 0
        ? Effect.void
        : Effect.fail(new HelperMissing({ path: helperPath, message: "runtime helper is not an executable file" }))
    )
  )

const waitExited = (handle: HelperHandle, ms: number): Effect.Effect<boolean> =>
  // interruptible: teardown runs uninterruptibly and the timeout must still win
  Effect.interruptible(Effect.promise(() => handle.exited)).pipe(
    Effect.as(true),
    Effect.timeoutTo({ duration: ms, onSuccess: (x) => x, onTimeout: () => false })
  )

export const makeLinuxRuntime = (options: RuntimeOptions): Effect.Effect<RuntimeService, RuntimeIoError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!path.isAbsolute(options.dataDir)) {
      return yield* Effect.fail(new RuntimeIoError({ op: "config", path: options.dataDir, message: "dataDir must be absolute" }))
    }
    yield* Effect.tryPromise({
      try: () => fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 }),
      catch: ioError("mkdir", options.dataDir)
    })
    // the operator may point dataDir through a symlink; below it, nothing may be one
    const dataDir = yield* Effect.tryPromise({ try: () => fs.realpath(options.dataDir), catch: ioError("realpath", options.dataDir) })
    const support = yield* detectCgroup(options.cgroupRoot)
    const driver: CgroupDriver = makeCgroupDriver(support)
    const logs = new LogRegistry(path.join(dataDir, "logs", "services"), options.logMaxBytes)
    const entries = yield* Ref.make(new Map<string, Entry>())
    const starting = yield* Ref.make(new Set<string>())
    const layerScope = yield* Effect.scope
    const launchTimeoutMs = options.launchTimeoutMs ?? 15_000

    const forget = (id: string) =>
      Ref.update(entries, (m) => {
        const n = new Map(m)
        n.delete(id)
        return n
      })

    /** Stop a launched helper and remove everything the replica owns.
     * `exitRecorded` completes once the exit status (which reads the cgroup) is in. */
    const teardown = (
      ref: ReplicaRef,
      dirs: ReplicaDirs,
      cgroup: string | null,
      handle: HelperHandle | null,
      exitRecorded: Effect.Effect<void> = Effect.void
    ): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (handle !== null && handle.pid > 0 && !handle.hasExited()) {
          // the helper turns SIGTERM into the workload's stop signal
          yield* Effect.try(() => process.kill(handle.pid, "SIGTERM")).pipe(Effect.ignore)
          const done = yield* waitExited(handle, options.stopGraceMs)
          if (!done) {
            if (cgroup !== null) yield* driver.kill(cgroup)
            yield* killLauncherTree(handle.pid)
            yield* waitExited(handle, 5_000)
          }
        }
        yield* Effect.interruptible(exitRecorded).pipe(Effect.timeout("2 seconds"), Effect.ignore)
        if (cgroup !== null) yield* driver.remove(cgroup)
        yield* removeTree(dirs.dir)
        yield* pruneEmptyParents(path.dirname(dirs.dir), runtimeRoot(dataDir))
        logs.release(ref.service)
      }).pipe(Effect.uninterruptible)

    const launch = (spec: ReplicaSpec, ref: ReplicaRef, dirs: ReplicaDirs): Effect.Effect<Entry, StartError> =>
      Effect.gen(function*() {
        let cgroup: string | null = null
        let handle: HelperHandle | null = null
        let logAcquired = false
        const body = Effect.gen(function*() {
          const existing = fsSync.lstatSync(dirs.dir, { throwIfNoEntry: false })
          if (existing !== undefined) {
            return yield* Effect.fail(
              new RuntimeLaunchError({ stage: "dirs", message: `${dirs.dir} already exists (left over? run sweepOrphans)` })
            )
          }
          // a sibling's teardown may prune a shared empty parent in between: retry
          yield* mkdirsBelow(dataDir, ["runtime", ref.service, ref.deployment, ref.replica]).pipe(
            Effect.retry({ times: 3, while: (e) => e._tag === "denia/runtime/RuntimeIoError" })
          )
          for (const d of [dirs.upper, dirs.work, dirs.merged, dirs.sock]) yield* mkdirsBelow(dirs.dir, [path.basename(d)])
          // the overlay root takes the upper dir's owner and mode: make it the namespace root's
          yield* Effect.try({
            try: () => {
              const rootMode = fsSync.statSync(spec.rootfs).mode & 0o7777
              fsSync.chownSync(dirs.upper, options.usernsBase, options.usernsBase)
              fsSync.chmodSync(dirs.upper, rootMode)
            },
            catch: ioError("chown", dirs.upper)
          })
          cgroup = yield* driver.create(ref.service, ref.replica, spec.limits ?? {}).pipe(
            Effect.mapError((e) => new RuntimeLaunchError({ stage: "cgroup", message: `${e.path}: ${e.message}`, cause: e }))
          )
          const oomBefore = cgroup === null ? null : yield* driver.oomKills(cgroup)
          const hostname = spec.hostname ?? defaultHostname(spec)
          const etc = yield* writeEtcFiles(
            dirs.etc,
            spec.etcFiles ?? generateEtcFiles({ hostname, hostResolvConf: readSmallFile(HOST_RESOLV_CONF) })
          )
          const defaults = envDefaults(spec.env, hostname, spec.uid ?? 0, readRootfsPasswd(spec.rootfs))
          const file = logs.acquire(ref.service)
          logAcquired = true
          const launchSpec = toLaunchSpec(spec, dirs, cgroup, { base: options.usernsBase, size: options.usernsSize }, {
            envDefaults: defaults,
            etc
          })
          const h = yield* Effect.try({
            try: () => spawnHelper(options.helperPath, launchSpec),
            catch: (e) => new RuntimeLaunchError({ stage: "helper", message: errorMessage(e), cause: e })
          })
          handle = h
          const out = new LineSink(file, `${ref.replica} stdout`)
          const err = new LineSink(file, `${ref.replica} stderr`)
          h.stdout?.on("data", (c: Buffer) => out.push(c))
          h.stdout?.on("end", () => out.flush())
          h.stderr?.on("data", (c: Buffer) => err.push(c))
          h.stderr?.on("end", () => err.flush())
          const stat = yield* readStat(h.pid)
          if (stat !== null) {
            yield* writeState(dirs.stateFile, { ...ref, pid: h.pid, startTime: stat.startTime, cgroup })
          }
          const ev = yield* Effect.interruptible(Effect.promise(() => h.firstEvent)).pipe(
            Effect.timeoutFail({
              duration: launchTimeoutMs,
              onTimeout: () =>
                new RuntimeLaunchError({ stage: "timeout", message: `no status from the helper within ${launchTimeoutMs} ms` })
            })
          )
          if (ev._tag === "failed") return yield* Effect.fail(new RuntimeLaunchError({ stage: ev.stage, message: ev.message }))
          if (ev._tag !== "ready") {
            return yield* Effect.fail(new RuntimeLaunchError({ stage: "exec", message: "workload ended before it was ready" }))
          }
          const exit = yield* Deferred.make<ExitStatus>()
          const cgroupAtStart = cgroup
          yield* Effect.promise(() => h.exited).pipe(
            // `exited` resolves once every stdio stream closed: the stderr sink has seen the last line
            Effect.flatMap((st) =>
              Effect.gen(function*() {
                const oomAfter = cgroupAtStart === null ? null : yield* driver.oomKills(cgroupAtStart)
                const oomKilled = oomAfter !== null && oomAfter > (oomBefore ?? 0)
                yield* Deferred.succeed(exit, {
                  code: st.code,
                  signal: st.signal,
                  ...(err.lastLine === undefined ? {} : { lastStderr: err.lastLine }),
                  ...(oomKilled ? { oomKilled: true } : {})
                })
              })
            ),
            Effect.forkIn(layerScope)
          )
          const replica: Replica = {
            ...ref,
            id: replicaId(ref),
            socketPath: spec.port !== undefined ? dirs.socketPath : null,
            pid: h.pid,
            startedAt: new Date(),
            dir: dirs.dir,
            exit: Deferred.await(exit)
          }
          const cg = cgroup
          const stop = yield* Effect.cached(
            teardown(ref, dirs, cg, h, Deferred.await(exit).pipe(Effect.asVoid)).pipe(Effect.zipRight(forget(replica.id)))
          )
          return { replica, dirs, cgroup: cg, handle: h, exit, stop } satisfies Entry
        })
        return yield* body.pipe(
          Effect.onError(() =>
            Effect.gen(function*() {
              if (handle === null && !logAcquired) {
                if (cgroup !== null) yield* driver.remove(cgroup)
                yield* removeTree(dirs.dir)
                yield* pruneEmptyParents(path.dirname(dirs.dir), runtimeRoot(dataDir))
                return
              }
              if (!logAcquired) logs.acquire(ref.service)
              yield* teardown(ref, dirs, cgroup, handle)
            })
          )
        )
      })

    const lookup = (ref: ReplicaRef) =>
      Ref.get(entries).pipe(
        Effect.flatMap((m) => {
          const e = m.get(replicaId(ref))
          return e === undefined ? Effect.fail(new ReplicaNotFound({ replica: replicaId(ref) })) : Effect.succeed(e)
        })
      )

    const waitReadyEntry = (e: Entry, opts: ReadinessOptions | undefined) =>
      Effect.gen(function*() {
        const timeoutMs = opts?.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS
        const socketPath = e.replica.socketPath
        // a workload that dies while being probed fails readiness now, saying how it ended
        const outcome = socketPath === null
          ? ({ _tag: "probed", ok: false } as const)
          : yield* Effect.raceFirst(
            waitForHttp(socketPath, opts?.path ?? "/", timeoutMs).pipe(Effect.map((ok) => ({ _tag: "probed", ok }) as const)),
            Deferred.await(e.exit).pipe(Effect.map((status) => ({ _tag: "exited", status }) as const))
          )
        if (outcome._tag === "exited") {
          return yield* Effect.fail(
            new ReadinessTimeout({
              replica: e.replica.id,
              timeoutMs,
              message: exitReason(outcome.status, undefined, " before it was ready")
            })
          )
        }
        if (!outcome.ok) {
          return yield* Effect.fail(
            new ReadinessTimeout({
              replica: e.replica.id,
              timeoutMs,
              message: e.replica.socketPath === null ? "replica has no port to probe" : `no HTTP status line within ${timeoutMs} ms`
            })
          )
        }
      })

    const reserve = (id: string) =>
      Effect.gen(function*() {
        const running = (yield* Ref.get(entries)).has(id)
        const ok = yield* Ref.modify(starting, (s) => (s.has(id) || running ? [false, s] : [true, new Set([...s, id])]))
        if (!ok) return yield* Effect.fail(new ReplicaAlreadyRunning({ replica: id }))
      })
    const unreserve = (id: string) => Ref.update(starting, (s) => new Set([...s].filter((x) => x !== id)))

    const start: RuntimeService["start"] = (spec) =>
      Effect.gen(function*() {
        const ref = yield* validateRef(spec)
        const id = replicaId(ref)
        yield* validateSpec(spec, options.usernsSize)
        yield* checkHelper(options.helperPath)
        yield* checkRootfs(spec.rootfs, spec.workdir ?? "/")
        const dirs = replicaDirs(dataDir, ref)
        if (Buffer.byteLength(dirs.socketPath) > MAX_SOCKET_PATH) {
          return yield* Effect.fail(
            new UnsafePathError({
              path: dirs.socketPath,
              message: `socket path longer than ${MAX_SOCKET_PATH} bytes; use a shorter data_dir`
            })
          )
        }
        const entry = yield* Effect.acquireRelease(
          reserve(id).pipe(
            Effect.zipRight(launch(spec, { service: ref.service, deployment: ref.deployment, replica: ref.replica }, dirs)),
            Effect.tap((e) => Ref.update(entries, (m) => new Map(m).set(id, e))),
            Effect.ensuring(unreserve(id))
          ),
          (e) => e.stop
        )
        if (spec.port !== undefined && spec.readiness !== null) {
          yield* waitReadyEntry(entry, spec.readiness).pipe(Effect.tapError(() => entry.stop))
        }
        return entry.replica
      })

    const info = (e: Entry): Effect.Effect<ReplicaInfo> =>
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
          cgroup: e.cgroup
        }))
      )

    const service: RuntimeService = {
      start,
      stop: (ref) => lookup(ref).pipe(Effect.flatMap((e) => e.stop)),
      list: Ref.get(entries).pipe(Effect.flatMap((m) => Effect.forEach([...m.values()], info))),
      stats: (ref) =>
        lookup(ref).pipe(
          Effect.flatMap((e) =>
            support.mode === "enforced" && e.cgroup !== null
              ? driver.stats(e.cgroup).pipe(
                Effect.map((s) => ({ ...s, limitsEnforced: true, source: "cgroup" as const })),
                Effect.orElse(() =>
                  treeStats(e.replica.pid).pipe(Effect.map((s) => ({ ...s, limitsEnforced: true, source: "procfs" as const })))
                )
              )
              : treeStats(e.replica.pid).pipe(Effect.map((s) => ({ ...s, limitsEnforced: false, source: "procfs" as const })))
          )
        ),
      waitReady: (ref, opts) => lookup(ref).pipe(Effect.flatMap((e) => waitReadyEntry(e, opts))),
      logs: (svc, opts) =>
        validateName("service", svc).pipe(
          Effect.flatMap(() =>
            Effect.try({
              try: () => ({ path: logs.pathOf(svc), lines: logs.tail(svc, Math.max(0, opts?.lines ?? 100)) }),
              catch: ioError("read", logs.pathOf(svc))
            })
          )
        ),
      // replicas this instance runs or is launching are never touched
      sweepOrphans: Effect.all([Ref.get(entries), Ref.get(starting)]).pipe(
        Effect.flatMap(([m, s]) => sweepReplicaDirs(dataDir, driver, new Set([...m.keys(), ...s])))
      ),
      status: Effect.succeed({
        limitsEnforced: support.mode === "enforced",
        cgroupMode: support.mode,
        cgroupReason: support.reason,
        helperPath: options.helperPath
      })
    }

    // closing the layer stops every replica it still owns
    yield* Effect.addFinalizer(() =>
      Ref.get(entries).pipe(
        Effect.flatMap((m) => Effect.forEach([...m.values()], (e) => e.stop, { concurrency: "unbounded", discard: true }))
      )
    )
    return service
  })
