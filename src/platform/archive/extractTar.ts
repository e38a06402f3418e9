/**
 * Checked extraction (ADR 0902): `input` (plain, zstd or gzip) → a decompressor child (`zstd -d`,
 * `gzip -d`) → the tar header gate (policy per entry) → GNU `tar -x` in a directory the caller created
 * empty. Only blocks the gate wrote reach tar. A refusal (the policy's own error, or a TarFormatError)
 * stops both children and is thrown; the caller removes the directory. With `dest` undefined the
 * stream is only checked (nothing is written).
 */
import { spawn } from "node:child_process"
import { createReadStream } from "node:fs"
import { Readable, type Writable } from "node:stream"
import {
  collect,
  countedWrite,
  DecompressError,
  exited,
  failureOf,
  inputFailedFirst,
  kill,
  relay,
  tarArgs,
  TarExtractError
} from "./children.js"
import type { PipeInput } from "./requestBody.js"
import { type GatePolicy, TarGate } from "./tarGate.js"
import { TarFormatError } from "./tarHeader.js"
import { extractViaPipe, tarPipeUsable } from "./tarPipe.js"

export type TarCompression = "zstd" | "gzip" | "none"

export interface ExtractTarOptions {
  readonly compression: TarCompression
  readonly policy: GatePolicy
  /** Extract here (an empty directory); undefined = check only. */
  readonly dest: string | undefined
  /** Keep the ids the policy wrote (root only); otherwise files belong to the daemon. */
  readonly sameOwner: boolean
  /** Cap on the decompressed stream (a decompression bomb stops here): bytes and the error to throw. */
  readonly maxTarBytes?: { readonly bytes: number; readonly error: () => Error }
  /** Cap on the raw input as it arrives (a request body): bytes and the error to throw past it. */
  readonly maxInputBytes?: { readonly bytes: number; readonly error: () => Error }
  /**
   * The `denia-init` helper: when set (and `dest` is), entry data moves from the decompressor to
   * `tar -x` through `denia-init tar-pipe` without passing through the daemon (tarPipe.ts); a helper
   * that is missing or lacks that mode leaves extraction on the in-process gate.
   */
  readonly helper?: string | undefined
  /** The archive must close with its end-of-archive block (a plain tar, whose truncation no decoder sees). */
  readonly requireEnd?: boolean
}

/** Writes `pieces`; false when the pipe is full. */
const writeAll = (w: Writable, pieces: ReadonlyArray<Buffer>): boolean => {
  if (pieces.length === 1) return w.write(pieces[0])
  if (pieces.length === 0) return true
  w.cork()
  let ok = true
  for (const p of pieces) ok = w.write(p)
  w.uncork()
  return ok
}

/** A file the decompressor reads itself (no hop through the daemon). */
export interface TarFile {
  readonly file: string
}

/**
 * Runs the pipeline; resolves with the number of entries accepted. A PipeInput (a request body the
 * helper receives, requestBody.ts) needs the helper's tar pipe: only a helper that has it can have
 * taken the body.
 */
export const extractTar = async (from: Readable | TarFile | PipeInput, options: ExtractTarOptions): Promise<number> => {
  const { dest, helper } = options
  if (helper !== undefined && await tarPipeUsable(helper)) return extractViaPipe(from, { ...options, dest, helper })
  if (!(from instanceof Readable) && !("file" in from)) {
    from.stop()
    await from.release()
    throw new TarExtractError("a body received by the helper needs its tar pipe mode")
  }
  const gate = new TarGate(options.policy, options.dest !== undefined, options.requireEnd === true)
  const fromFile = from instanceof Readable ? undefined : from.file
  const input = from instanceof Readable
    ? from
    : options.compression === "none"
    ? createReadStream(from.file, { highWaterMark: 1024 * 1024 })
    : undefined
  const decoder = options.compression === "none"
    ? undefined
    : spawn(options.compression === "zstd" ? "zstd" : "gzip", [
      "-d",
      "-c",
      "-q",
      ...(input === undefined && fromFile !== undefined ? ["--", fromFile] : [])
    ], {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "ignore"]
    })
  const tar = options.dest === undefined
    ? undefined
    : spawn("tar", tarArgs(options.dest, options.sameOwner), { stdio: ["pipe", "ignore", "pipe"] })
  const tarErrors = collect(tar?.stderr ?? null, 2000)
  const decoderDone = decoder === undefined ? Promise.resolve(0) : exited(decoder)
  const tarDone = tar === undefined ? Promise.resolve(0) : exited(tar)
  tar?.stdin?.on("error", () => undefined)
  let feeding: Promise<void> = Promise.resolve()
  let source: Readable
  if (decoder === undefined) {
    if (input === undefined) throw new DecompressError("no input")
    source = input
  } else {
    const stdin = decoder.stdin
    const stdout = decoder.stdout
    if (stdout === null) throw new DecompressError("decompressor pipes are missing")
    if (stdin !== null && input !== undefined) {
      stdin.on("error", () => undefined)
      // the raw input goes to the decoder by hand, so its own errors (caps, aborted body) surface here
      feeding = relay(input, stdin, countedWrite(stdin, options.maxInputBytes)).then(() => void stdin.end())
      feeding.catch(() => kill(decoder))
    }
    source = stdout
  }
  try {
    const stdin = tar?.stdin ?? undefined
    let seen = 0
    const cap = options.maxTarBytes
    // uncompressed, the tar stream is the raw input: its cap applies here too
    const inputCap = decoder === undefined ? options.maxInputBytes : undefined
    await relay(source, stdin, (buf) => {
      seen += buf.length
      if (inputCap !== undefined && seen > inputCap.bytes) throw inputCap.error()
      if (cap !== undefined && seen > cap.bytes) throw cap.error()
      const pieces = gate.push(buf)
      return stdin === undefined || writeAll(stdin, pieces)
    })
    const fed = await failureOf(feeding)
    const code = await decoderDone
    // the decoder stopped reading because it failed: that is the error to report
    if (fed !== undefined && !(fed instanceof TarExtractError && code !== 0)) throw fed
    if (code !== 0) throw new DecompressError(`not a valid ${options.compression} stream`)
    const last = gate.end()
    if (stdin !== undefined) {
      for (const piece of last) stdin.write(piece)
      stdin.end()
    }
    const tarCode = await tarDone
    if (tarCode !== 0) throw new TarExtractError(`tar -x exited ${tarCode ?? "on a signal"}: ${tarErrors()}`)
    return gate.entries
  } catch (e) {
    kill(decoder)
    kill(tar)
    input?.destroy()
    await Promise.all([decoderDone, tarDone, feeding.catch(() => undefined)])
    // the input failed first (a cap, an aborted body): the children stopped because of it
    const first = await inputFailedFirst(feeding, e)
    if (first !== undefined) throw first
    if (e instanceof TarExtractError && tar !== undefined) throw new TarExtractError(`${e.message}: ${tarErrors()}`)
    throw e
  }
}

export { DecompressError, TarExtractError, TarFormatError }
