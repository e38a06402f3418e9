/**
 * The unpack worker thread (ADR 0808): owns one `UnpackerCore` at a time (the rules of unpackCore.ts,
 * unchanged) and applies layers for the daemon, which keeps serving on its own event loop meanwhile.
 * Protocol: unpackWorkerProtocol.ts; the daemon side: unpackWorkerPool.ts.
 */
import * as os from "node:os"
import { parentPort } from "node:worker_threads"
import { UnpackerCore, UnpackRefusal } from "./unpackCore.js"
import { type LayerFeed, openFeed } from "./unpackFeed.js"
import { encodeError, type Reply, type Request, type WireError } from "./unpackWorkerProtocol.js"

const port = parentPort
if (port === null) throw new Error("unpackWorker.ts runs as a worker thread")

let unpacker: UnpackerCore | undefined
const empty = { bytes: 0, entries: 0, dirs: [] }
/** The layer being fed; `queue` is its writes, one at a time (one waiter on the input's `drain`). */
let feed: { readonly id: number; readonly feed: LayerFeed; queue: Promise<void> } | undefined

/** A fed layer stopped by the daemon (its download failed or the pull was interrupted). */
class FeedAborted extends Error {}

const send = (r: Reply) => port.postMessage(r)
const wire = (e: unknown): WireError =>
  e instanceof FeedAborted ? { kind: "aborted" } : encodeError(e, (x) => (x instanceof UnpackRefusal ? x.refusal : undefined))

const current = (): UnpackerCore => {
  if (unpacker === undefined) throw new Error("no unpacker open in this worker")
  return unpacker
}

/** Runs one operation and answers it with the unpacker's skipped entries and state, or its failure. */
const run = (id: number, f: () => Promise<void> | void) => {
  void (async () => {
    try {
      await f()
      const u = current()
      send({ type: "done", id, skipped: u.skipped.splice(0), state: u.state() })
    } catch (e) {
      send({ type: "failed", id, error: wire(e) })
    }
  })()
}

const closeFeed = (id: number, f: () => Promise<void>) => {
  feed = undefined
  run(id, f)
}

port.on("message", (m: Request) => {
  switch (m.op) {
    case "open":
      unpacker = new UnpackerCore(m.rootfs, m.options)
      return run(m.id, () => undefined)
    case "adopt":
      return run(m.id, () => current().adopt(m.state))
    case "file":
      return run(m.id, () => current().applyLayerFile(m.label, m.file))
    case "finish":
      return run(m.id, () => current().finish())
    case "feed": {
      const u = unpacker
      if (u === undefined) return run(m.id, () => void current())
      const label = m.label
      const f = openFeed((stream, toDestroy) => u.applyLayerStream(label, stream, toDestroy))
      feed = { id: m.id, feed: f, queue: Promise.resolve() }
      return
    }
    case "chunk": {
      const f = feed
      if (f === undefined) return
      const bytes = m.data.byteLength
      const buf = Buffer.from(m.data.buffer, m.data.byteOffset, bytes)
      f.queue = f.queue.then(() => f.feed.write(buf)).then(
        () => send({ type: "ack", bytes }),
        (e: unknown) => {
          if (feed === f) send({ type: "feedFailed", error: wire(e) })
        }
      )
      return
    }
    case "end": {
      const f = feed
      if (f === undefined) return
      return closeFeed(f.id, async () => {
        await f.queue
        await f.feed.end()
      })
    }
    case "abort": {
      const f = feed
      if (f === undefined) return
      return closeFeed(f.id, async () => {
        const before = await f.feed.abort()
        if (before !== undefined) throw before.error
        throw new FeedAborted()
      })
    }
    case "nice": {
      // per thread on Linux: pid 0 is this worker thread, not the daemon
      try {
        os.setPriority(0, m.nice)
      } catch {
        // not permitted (raising it back needs root): the pool does not reuse a worker left lower
      }
      const u = unpacker
      return send({ type: "done", id: m.id, skipped: u?.skipped.splice(0) ?? [], state: u?.state() ?? empty, nice: os.getPriority(0) })
    }
    case "close":
      unpacker = undefined
      feed = undefined
      return
  }
})
