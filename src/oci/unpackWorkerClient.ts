/**
 * The daemon side of one pull's unpacker (ADR 0808): `WorkerUnpacker` drives an `UnpackerCore` in a
 * worker thread (unpackWorker.ts) through the messages of unpackWorkerProtocol.ts and rebuilds its
 * failures as the calling thread would have thrown them; `InThreadUnpacker` is the same surface over a
 * `RootfsUnpacker` where no worker can run. Workers come from unpackWorkerPool.ts.
 */
import type { Worker } from "node:worker_threads"
import { refusalFailure, RootfsUnpacker, type UnpackOptions, type UnpackState } from "./unpack.js"
import type { LayerFeed } from "./unpackFeed.js"
import type { Reply, Request, WireError } from "./unpackWorkerProtocol.js"

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

export class InThreadUnpacker implements PooledUnpacker {
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

export class WorkerUnpacker implements PooledUnpacker {
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
