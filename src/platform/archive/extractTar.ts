/**
 * Checked extraction (ADR 0902): `input` (plain, zstd or gzip) → a decompressor child (`zstd -d`,
 * `gzip -d`) → the tar header gate (policy per entry) → GNU `tar -x` in a directory the caller created
 * empty. Only blocks the gate wrote reach tar. A refusal (the policy's own error, or a TarFormatError)
 * stops both children and is thrown; the caller removes the directory. With `dest` undefined the
 * stream is only checked (nothing is written).
 */
import { type ChildProcess, spawn } from "node:child_process"
import type { Readable, Writable } from "node:stream"
import { type GatePolicy, TarGate } from "./tarGate.js"
import { TarFormatError } from "./tarHeader.js"

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
}

/** The decompressor failed: the input is not valid data of its format. */
export class DecompressError extends Error {
  readonly _tag = "DecompressError"
}

/** `tar -x` failed (disk full, permissions…); `message` carries its first lines of stderr. */
export class TarExtractError extends Error {
  readonly _tag = "TarExtractError"
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else {
      child.once("error", () => resolve(-1))
      child.once("close", (code) => resolve(code))
    }
  })

const kill = (child: ChildProcess | undefined) => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

const drained = (w: Writable) =>
  new Promise<void>((resolve, reject) => {
    const done = () => {
      w.off("drain", done)
      w.off("error", fail)
      w.off("close", done)
      resolve()
    }
    const fail = (e: Error) => {
      w.off("drain", done)
      w.off("close", done)
      reject(e)
    }
    w.once("drain", done)
    w.once("error", fail)
    w.once("close", done)
  })

/** Writes `pieces` in one corked batch; waits when the pipe is full. */
const writeAll = async (w: Writable, pieces: ReadonlyArray<Buffer>) => {
  if (pieces.length === 0) return
  w.cork()
  let ok = true
  for (const p of pieces) ok = w.write(p)
  w.uncork()
  if (!ok) await drained(w)
}

const collect = (stream: Readable | null, limit: number): () => string => {
  let text = ""
  stream?.on("data", (c: Buffer) => {
    if (text.length < limit) text += c.toString("utf8")
  })
  return () => text.slice(0, limit).trim()
}

const tarArgs = (dest: string, sameOwner: boolean) => [
  "-x",
  "-f",
  "-",
  "-C",
  dest,
  "--numeric-owner",
  sameOwner ? "--same-owner" : "--no-same-owner",
  "--same-permissions",
  "--delay-directory-restore",
  "--no-acls",
  "--no-xattrs",
  "--no-selinux",
  "--warning=no-unknown-keyword"
]

/** Runs the pipeline; resolves with the number of entries accepted. */
export const extractTar = async (input: Readable, options: ExtractTarOptions): Promise<number> => {
  const gate = new TarGate(options.policy, options.dest !== undefined)
  const decoder = options.compression === "none"
    ? undefined
    : spawn(options.compression === "zstd" ? "zstd" : "gzip", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "ignore"] })
  const tar = options.dest === undefined
    ? undefined
    : spawn("tar", tarArgs(options.dest, options.sameOwner), { stdio: ["pipe", "ignore", "pipe"] })
  const tarErrors = collect(tar?.stderr ?? null, 2000)
  const decoderDone = decoder === undefined ? Promise.resolve(0) : exited(decoder)
  const tarDone = tar === undefined ? Promise.resolve(0) : exited(tar)
  tar?.stdin?.on("error", () => undefined)
  let source: AsyncIterable<Buffer> = input
  let feeding: Promise<void> = Promise.resolve()
  if (decoder !== undefined) {
    const stdin = decoder.stdin
    const stdout = decoder.stdout
    if (stdin === null || stdout === null) throw new DecompressError("decompressor pipes are missing")
    stdin.on("error", () => undefined)
    // the raw input goes to the decoder by hand, so its own errors (caps, aborted body) surface here
    feeding = (async () => {
      for await (const chunk of input) {
        if (!stdin.write(chunk)) await drained(stdin)
      }
      stdin.end()
    })()
    feeding.catch(() => kill(decoder))
    source = stdout
  }
  try {
    const stdin = tar?.stdin ?? undefined
    let seen = 0
    const cap = options.maxTarBytes
    for await (const chunk of source) {
      const buf = chunk instanceof Buffer ? chunk : Buffer.from(chunk)
      seen += buf.length
      if (cap !== undefined && seen > cap.bytes) throw cap.error()
      const pieces = gate.push(buf)
      if (stdin !== undefined) await writeAll(stdin, pieces)
    }
    await feeding
    const code = await decoderDone
    if (code !== 0) throw new DecompressError(`not a valid ${options.compression} stream`)
    const last = gate.end()
    if (stdin !== undefined) {
      await writeAll(stdin, last)
      stdin.end()
    }
    const tarCode = await tarDone
    if (tarCode !== 0) throw new TarExtractError(`tar -x exited ${tarCode ?? "on a signal"}: ${tarErrors()}`)
    return gate.entries
  } catch (e) {
    kill(decoder)
    kill(tar)
    input.destroy()
    await Promise.all([decoderDone, tarDone, feeding.catch(() => undefined)])
    throw e
  }
}

export { TarFormatError }
