/**
 * Layer application off the daemon's event loop (ADR 0808). Every pull gets an `Unpacker` for its
 * rootfs; it drives an `UnpackerCore` (unpackCore.ts, the rules) in a worker thread (unpackWorker.ts)
 * while the daemon's own loop keeps serving — its hosted registry included, from which buildah pulls
 * the same base a prewarm is unpacking. One worker per pull in flight (parallel pulls unpack in
 * parallel); a pull that ends cleanly hands its worker back and one idle worker is kept warm for the
 * next pull; a pull that fails or is interrupted terminates its worker, which stops writing before the
 * pull's temp directory is removed (the pull's scope closes the unpacker first).
 *
 * The worker script is the compiled `unpackWorker.js` next to this module (the daemon runs `dist/`).
 * Run from the TypeScript sources (vitest, vite-node), the worker loads `unpackWorker.ts` through a
 * transpiling module hook (unpackWorkerSource.ts); where neither is possible (a bundle of this module),
 * the layers are applied on the calling thread by `RootfsUnpacker` — same rules, same failures.
 */
import { Effect, Exit, FiberRef } from "effect"
import * as fsSync from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import type { UnpackOptions } from "./unpack.js"
import { InThreadUnpacker, type PooledUnpacker, WorkerUnpacker } from "./unpackWorkerClient.js"
import { sourceWorkerHooks } from "./unpackWorkerSource.js"

export { FEED_WINDOW, type PooledUnpacker, type Unpacker, UnpackWorkerStopped } from "./unpackWorkerClient.js"

export interface WorkerEntry {
  readonly kind: "compiled" | "source"
  readonly url: URL
  readonly execArgv?: Array<string>
}

/** The worker script next to the module at `base`: compiled, else the TypeScript source; undefined if none runs. */
export const findWorkerEntry = (base: string = import.meta.url): WorkerEntry | undefined => {
  if (!base.startsWith("file:")) return undefined
  const compiled = new URL("./unpackWorker.js", base)
  if (fsSync.existsSync(fileURLToPath(compiled))) return { kind: "compiled", url: compiled }
  const source = new URL("./unpackWorker.ts", base)
  if (!fsSync.existsSync(fileURLToPath(source))) return undefined
  const hooks = sourceWorkerHooks(base)
  return hooks === undefined ? undefined : { kind: "source", url: source, execArgv: ["--import", hooks] }
}

/** Unpack workers: one per pull in flight, `maxIdle` kept warm between pulls. */
export class UnpackWorkerPool {
  private readonly idle: Array<Worker> = []
  private readonly live = new Set<Worker>()
  private spawned = 0

  constructor(readonly entry: WorkerEntry | undefined, private readonly maxIdle = 1) {}

  get mode(): "worker" | "in-thread" {
    return this.entry === undefined ? "in-thread" : "worker"
  }

  /** Workers started so far (a reused worker counts once). */
  get started(): number {
    return this.spawned
  }

  /** Workers whose thread is still running (in use or idle). */
  get running(): number {
    return this.live.size
  }

  /** Idle workers kept for the next pull. */
  get idleCount(): number {
    return this.idle.length
  }

  acquire(rootfs: string, options: UnpackOptions): PooledUnpacker {
    if (this.entry === undefined) return new InThreadUnpacker(rootfs, options)
    const worker = this.idle.pop() ?? this.spawn(this.entry)
    return new WorkerUnpacker(worker, (w, reuse) => this.giveBack(w, reuse), rootfs, options)
  }

  private spawn(entry: WorkerEntry): Worker {
    const w = new Worker(entry.url, entry.execArgv === undefined ? {} : { execArgv: entry.execArgv })
    this.spawned++
    this.live.add(w)
    // the unpacker using the worker reports its failures; an idle one that fails is dropped
    w.on("error", () => undefined)
    w.on("exit", () => {
      this.live.delete(w)
      const i = this.idle.indexOf(w)
      if (i >= 0) this.idle.splice(i, 1)
    })
    return w
  }

  private async giveBack(w: Worker, reuse: boolean): Promise<void> {
    if (reuse && this.idle.length < this.maxIdle) {
      // an idle worker never keeps the process alive
      w.unref()
      this.idle.push(w)
      return
    }
    await w.terminate().catch(() => undefined)
    this.live.delete(w)
  }

  /** Terminates the idle workers. */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((w) => w.terminate().catch(() => undefined).then(() => this.live.delete(w))))
  }
}

let shared: UnpackWorkerPool | undefined

/** The process's pool (the worker script found next to this module). */
export const unpackWorkers = (): UnpackWorkerPool => (shared ??= new UnpackWorkerPool(findWorkerEntry()))

/**
 * The CPU priority of layer application (a nice value), changed while it runs: a base prewarm
 * (deploy/basePrewarm.ts) unpacks at the priority of the build beside it, and at the daemon's once the
 * deployment waits for it. Changes reach the worker at once.
 */
export class UnpackPriority {
  private readonly listeners = new Set<(nice: number) => void>()

  constructor(private value: number) {}

  get nice(): number {
    return this.value
  }

  set(nice: number): void {
    if (nice === this.value) return
    this.value = nice
    for (const l of this.listeners) l(nice)
  }

  subscribe(listener: (nice: number) => void): () => void {
    this.listeners.add(listener)
    return () => void this.listeners.delete(listener)
  }
}

/** The priority for the layer application of the current fiber; none: the daemon's own. */
export const unpackPriority = FiberRef.unsafeMake<UnpackPriority | undefined>(undefined)

/**
 * An unpacker for `rootfs` in the current scope, at the fiber's `unpackPriority`: released (its worker
 * terminated unless the scope ended successfully) when the scope closes.
 */
export const scopedUnpacker = (rootfs: string, options: UnpackOptions, pool: UnpackWorkerPool = unpackWorkers()) =>
  Effect.flatMap(FiberRef.get(unpackPriority), (priority) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const u = pool.acquire(rootfs, options)
        if (priority === undefined) return { u, unsubscribe: () => undefined }
        if (priority.nice !== 0) u.renice(priority.nice)
        return { u, unsubscribe: priority.subscribe((nice) => u.renice(nice)) }
      }),
      ({ u, unsubscribe }, exit) =>
        Effect.promise(() => {
          unsubscribe()
          return u.release(Exit.isSuccess(exit))
        })
    ).pipe(Effect.map(({ u }) => u)))
