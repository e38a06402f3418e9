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
import { refusalFailure, RootfsUnpacker, type UnpackOptions, type UnpackState } from "./unpack.js"
import type { LayerFeed } from "./unpackFeed.js"
import type { Reply, Request, WireError } from "./unpackWorkerProtocol.js"
import { sourceWorkerHooks } from "./unpackWorkerSource.js"

/** What a pull applies its layers with (on the calling thread or in a worker: the same surface). */
export interface Unpacker {
  /** Entries skipped so far (devices, fifos, unknown types), for the pull's log; the caller drains it. */
  readonly skipped: Array<string>
  /** The counters and pending directory metadata after the last completed operation (chains.ts). */
  state(): UnpackState
  /** Continues from a chain snapshot's state (its tree already cloned into the rootfs). */
  adopt(state: UnpackState): Promise<void>
  applyLayerFile(label: string, file: string): Promise<void>
  /** Layer `label` fed chunk by chunk while it downloads (streamedLayer.ts). */
  openLayerFeed(label: string): LayerFeed
  /** Applies directory metadata, after all layers. */
  finish(): Promise<void>
  /** Starts over on an empty tree (the caller emptied the rootfs). */
  restart(): Promise<void>
}

export interface PooledUnpacker extends Unpacker {
  readonly mode: "worker" | "in-thread"
  /** Sets the CPU priority (nice value) of the worker thread; nothing on the calling thread. */
  renice(nice: number): void
  /** Ends the unpacker's use: its worker back to the pool when `reuse` and it is idle, else terminated. */
  release(reuse: boolean): Promise<void>
}

/** The unpack worker exited or failed: its pull cannot continue (a storage failure of the pull). */
export class UnpackWorkerStopped extends Error {}

/** How many fed bytes may be on their way to the worker, not yet taken into its input (backpressure). */
export const FEED_WINDOW = 2 * 1024 * 1024

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

/** A failure from the worker as the calling thread would have thrown it. */
const decodeError = (w: WireError): Error => {
  switch (w.kind) {
    case "refusal":
      return refusalFailure(w.refusal)
    case "fs": {
      const { kind: _, message, ...props } = w
      return Object.assign(new Error(message), props)
    }
    case "other":
      return new Error(w.message)
    case "aborted":
      return new UnpackWorkerStopped("the layer was aborted")
  }
}

type Answer = Extract<Reply, { readonly type: "done" | "failed" }>
type Op = Request extends infer R ? R extends { readonly id: number } ? Omit<R, "id"> : never : never

class InThreadUnpacker implements PooledUnpacker {
  readonly mode = "in-thread"
  private u: RootfsUnpacker

  constructor(private readonly rootfs: string, private readonly options: UnpackOptions) {
    this.u = new RootfsUnpacker(rootfs, options)
  }

  get skipped(): Array<string> {
    return this.u.skipped
  }
  state(): UnpackState {
    return this.u.state()
  }
  async adopt(state: UnpackState): Promise<void> {
    this.u.adopt(state)
  }
  applyLayerFile(label: string, file: string): Promise<void> {
    return this.u.applyLayerFile(label, file)
  }
  openLayerFeed(label: string): LayerFeed {
    return this.u.openLayerFeed(label)
  }
  finish(): Promise<void> {
    return this.u.finish()
  }
  async restart(): Promise<void> {
    this.u = new RootfsUnpacker(this.rootfs, this.options)
  }
  renice(): void {}
  async release(): Promise<void> {}
}

interface FeedLink {
  readonly ack: (bytes: number) => void
  readonly fail: (error: unknown) => void
}

class WorkerUnpacker implements PooledUnpacker {
  readonly mode = "worker"
  readonly skipped: Array<string> = []
  private last: UnpackState = { bytes: 0, entries: 0, dirs: [] }
  private nextId = 1
  private readonly pending = new Map<number, { readonly resolve: (a: Answer) => void; readonly reject: (e: unknown) => void }>()
  private stopped: UnpackWorkerStopped | undefined
  private feeding: FeedLink | undefined
  private released = false
  private nice = 0

  constructor(
    private readonly worker: Worker,
    private readonly giveBack: (worker: Worker, reuse: boolean) => Promise<void>,
    private readonly rootfs: string,
    private readonly options: UnpackOptions
  ) {
    worker.on("message", this.onMessage)
    worker.on("error", this.onError)
    worker.on("exit", this.onExit)
    worker.ref()
    this.call({ op: "open", rootfs, options }).catch(() => undefined)
  }

  private readonly onMessage = (r: Reply) => {
    switch (r.type) {
      case "done":
      case "failed": {
        const p = this.pending.get(r.id)
        this.pending.delete(r.id)
        if (r.type === "done") {
          this.skipped.push(...r.skipped)
          this.last = r.state
          if (r.nice !== undefined) this.nice = r.nice
        }
        p?.resolve(r)
        return
      }
      case "ack":
        return this.feeding?.ack(r.bytes)
      case "feedFailed":
        return this.feeding?.fail(decodeError(r.error))
    }
  }
  private readonly onError = (e: unknown) => this.stop(`the unpack worker failed: ${e instanceof Error ? e.message : String(e)}`)
  private readonly onExit = (code: number) => this.stop(`the unpack worker exited (code ${code})`)

  private stop(reason: string): void {
    if (this.stopped !== undefined) return
    const e = new UnpackWorkerStopped(reason)
    this.stopped = e
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
    this.feeding?.fail(e)
  }

  private post(m: Request, transfer?: ReadonlyArray<ArrayBuffer>): void {
    if (this.stopped !== undefined) throw this.stopped
    this.worker.postMessage(m, transfer === undefined ? undefined : [...transfer])
  }

  private call(op: Op): Promise<Answer> {
    if (this.stopped !== undefined) return Promise.reject(this.stopped)
    const id = this.nextId++
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...op, id })
    })
  }

  private async run(op: Op): Promise<void> {
    const a = await this.call(op)
    if (a.type === "failed") throw decodeError(a.error)
  }

  state(): UnpackState {
    return this.last
  }
  adopt(state: UnpackState): Promise<void> {
    return this.run({ op: "adopt", state })
  }
  applyLayerFile(label: string, file: string): Promise<void> {
    return this.run({ op: "file", label, file })
  }
  finish(): Promise<void> {
    return this.run({ op: "finish" })
  }
  restart(): Promise<void> {
    this.last = { bytes: 0, entries: 0, dirs: [] }
    return this.run({ op: "open", rootfs: this.rootfs, options: this.options })
  }

  openLayerFeed(label: string): LayerFeed {
    if (this.feeding !== undefined) throw new Error("a layer is being fed already")
    const done = this.call({ op: "feed", label })
    done.catch(() => undefined)
    let inFlight = 0
    let failed: { readonly error: unknown } | undefined
    // read through a function: the callbacks below change it while `write` awaits
    const failure = () => failed
    let waiters: Array<() => void> = []
    const wake = () => {
      const w = waiters
      waiters = []
      for (const f of w) f()
    }
    const link: FeedLink = {
      ack: (bytes) => {
        inFlight -= bytes
        if (inFlight <= FEED_WINDOW) wake()
      },
      fail: (error) => {
        failed ??= { error }
        wake()
      }
    }
    this.feeding = link
    const closed = () => {
      if (this.feeding === link) this.feeding = undefined
    }
    return {
      queued: () => inFlight,
      write: async (chunk) => {
        if (failed !== undefined) throw failed.error
        // a copy: the download still writes `chunk` to the cache after this
        const bytes = chunk.byteLength
        const copy = new Uint8Array(bytes)
        copy.set(chunk)
        // transferred: `copy` is empty here after this
        this.post({ op: "chunk", data: copy }, [copy.buffer])
        inFlight += bytes
        while (inFlight > FEED_WINDOW && failure() === undefined) await new Promise<void>((r) => waiters.push(r))
        const f = failure()
        if (f !== undefined) throw f.error
      },
      end: async () => {
        try {
          this.post({ op: "end" })
          const a = await done
          if (a.type === "failed") throw decodeError(a.error)
        } finally {
          closed()
        }
      },
      abort: async () => {
        try {
          if (this.stopped === undefined) this.post({ op: "abort" })
          const a = await done
          return a.type === "failed" && a.error.kind !== "aborted" ? { error: decodeError(a.error) } : undefined
        } catch (error) {
          return { error }
        } finally {
          closed()
        }
      }
    }
  }

  renice(nice: number): void {
    if (this.stopped === undefined) this.run({ op: "nice", nice }).catch(() => undefined)
  }

  async release(reuse: boolean): Promise<void> {
    if (this.released) return
    this.released = true
    let idle = reuse && this.stopped === undefined && this.pending.size === 0 && this.feeding === undefined
    if (idle && this.nice !== 0) {
      // back to the daemon's priority for the next pull, or not reused
      await this.run({ op: "nice", nice: 0 }).catch(() => undefined)
      idle = this.stopped === undefined && this.nice === 0
    }
    if (idle) this.worker.postMessage({ op: "close" } satisfies Request)
    else this.stop("the pull ended")
    this.worker.off("message", this.onMessage)
    this.worker.off("error", this.onError)
    this.worker.off("exit", this.onExit)
    await this.giveBack(this.worker, idle)
  }
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
