/**
 * The daemon's end of `denia-init tar-pipe` (ADR 0902): a client for its control socket and the loop
 * that runs the TarGate pull-style over it. The helper only moves bytes; every header is read into the
 * daemon (READ), judged by the same TarGate and policy as the in-process path, and only the header the
 * gate wrote goes out (WRITE); entry data goes from the decompressor to `tar -x` inside the kernel
 * (SPLICE) or is dropped (SKIP).
 */
import type { Duplex } from "node:stream"
import { TarExtractError } from "./children.js"
import type { TarGate } from "./tarGate.js"
import { BLOCK } from "./tarHeader.js"

/** Largest READ or WRITE the helper takes (its one buffer). */
export const PIPE_MAX = 1024 * 1024
/** Largest SPLICE/SKIP sent at once (the helper loops inside; this bounds one round trip, not memory). */
const MOVE_MAX = 64 * 1024 * 1024

/** The helper broke the protocol, died, or reported an I/O error. */
export class TarPipeError extends TarExtractError {}

export class PipeControl {
  private readonly chunks: Array<Buffer> = []
  private have = 0
  private waiter: { readonly n: number; readonly resolve: (b: Buffer) => void; readonly reject: (e: Error) => void } | undefined
  private closed: Error | undefined

  constructor(private readonly socket: Duplex, private readonly why: () => string) {
    socket.on("data", (c: Buffer) => {
      this.chunks.push(c)
      this.have += c.length
      this.wake()
    })
    const close = () => {
      this.closed ??= new TarPipeError(`the tar pipe helper stopped: ${this.why() || "no message"}`)
      this.wake()
    }
    socket.on("end", close)
    socket.on("close", close)
    socket.on("error", close)
  }

  private wake() {
    const w = this.waiter
    if (w === undefined) return
    if (this.have >= w.n) {
      this.waiter = undefined
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
      this.chunks.length = 0
      const rest = all.subarray(w.n)
      if (rest.length > 0) this.chunks.push(rest)
      this.have = rest.length
      w.resolve(all.subarray(0, w.n))
    } else if (this.closed !== undefined) {
      this.waiter = undefined
      w.reject(this.closed)
    }
  }

  private take(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject }
      this.wake()
    })
  }

  private async command(op: "R" | "W" | "S" | "K" | "E", n: number, data?: Buffer): Promise<number> {
    const head = Buffer.alloc(9)
    head.write(op, 0, "latin1")
    head.writeBigUInt64LE(BigInt(n), 1)
    this.socket.write(data === undefined ? head : Buffer.concat([head, data]))
    const count = Number((await this.take(8)).readBigUInt64LE(0))
    if (count > n) throw new TarPipeError(`the tar pipe helper answered ${count} to a ${op} of ${n}`)
    return count
  }

  /** Up to `n` input bytes (fewer only at the end of the input). */
  async read(n: number): Promise<Buffer> {
    const count = await this.command("R", n)
    return Buffer.from(await this.take(count))
  }

  async write(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += PIPE_MAX) {
      const part = data.subarray(off, off + PIPE_MAX)
      if (await this.command("W", part.length, part) !== part.length) throw new TarPipeError("a short WRITE")
    }
  }

  /** Moves (`forward`) or drops `n` input bytes; returns how many (fewer at the end of the input). */
  async move(n: number, forward: boolean): Promise<number> {
    let done = 0
    while (done < n) {
      const want = Math.min(MOVE_MAX, n - done)
      const got = await this.command(forward ? "S" : "K", want)
      done += got
      if (got < want) break
    }
    return done
  }

  async end(): Promise<void> {
    await this.command("E", 0)
  }
}

/** Caps the decompressed bytes the way the in-process relay does. */
export interface PipeCap {
  readonly bytes: number
  readonly error: () => Error
}

/** Entry data at least this long is spliced; shorter data (small files) is read ahead with the headers. */
const SPLICE_MIN = 256 * 1024
/** How much a READ asks for: many small entries per round trip. */
const READ_AHEAD = 64 * 1024

/**
 * Runs `gate` over the helper's input until the input ends (the closing blocks are the caller's: it
 * first checks the decompressor, then calls `gate.end()`). Input is READ ahead in 64 KiB pieces and fed
 * to the gate as the in-process path does, the gate's output WRITten in batches; only when the gate is
 * at the start of at least 256 KiB of entry data with nothing read ahead is that data SPLICEd (or
 * SKIPped). After the end-of-archive block the rest of the input is dropped, counted against `cap`.
 */
export const drive = async (control: PipeControl, gate: TarGate, cap: PipeCap | undefined): Promise<void> => {
  let seen = 0
  const count = (n: number) => {
    seen += n
    if (cap !== undefined && seen > cap.bytes) throw cap.error()
  }
  const out: Array<Buffer> = []
  let outBytes = 0
  const flush = async () => {
    if (outBytes === 0) return
    const all = out.length === 1 ? out[0]! : Buffer.concat(out)
    out.length = 0
    outBytes = 0
    await control.write(all)
  }
  let pending: Buffer = Buffer.alloc(0)
  let eof = false
  for (;;) {
    const next = gate.next()
    if (next.kind === "ended") break
    if (pending.length > 0) {
      // feed the gate up to the next point where a splice could start
      const n = Math.min(next.kind === "header" ? BLOCK : next.bytes, pending.length)
      for (const piece of gate.push(pending.subarray(0, n))) {
        out.push(piece)
        outBytes += piece.length
      }
      pending = pending.subarray(n)
      if (outBytes >= PIPE_MAX) await flush()
      continue
    }
    if (eof) {
      await flush()
      return
    }
    if (next.kind === "data" && next.bytes >= SPLICE_MIN) {
      // the cap is checked before the bytes move: nothing over it reaches tar
      count(next.bytes)
      await flush()
      const moved = await control.move(next.bytes, next.forward)
      gate.passed(moved)
      if (moved < next.bytes) eof = true
      continue
    }
    pending = await control.read(READ_AHEAD)
    count(pending.length)
    if (pending.length < READ_AHEAD) eof = true
  }
  await flush()
  if (eof) return
  for (;;) {
    const dropped = await control.move(MOVE_MAX, false)
    count(dropped)
    if (dropped < MOVE_MAX) return
  }
}
