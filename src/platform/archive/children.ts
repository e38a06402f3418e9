/** The child processes of a checked extraction (ADR 0902) and how their streams are relayed. */
import type { ChildProcess } from "node:child_process"
import type { Readable, Writable } from "node:stream"

/** The decompressor failed: the input is not valid data of its format. */
export class DecompressError extends Error {
  readonly _tag = "DecompressError"
}

/** `tar -x` failed (disk full, permissions…); `message` carries its first lines of stderr. */
export class TarExtractError extends Error {
  readonly _tag = "TarExtractError"
}

export const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else {
      child.once("error", () => resolve(-1))
      child.once("close", (code) => resolve(code))
    }
  })

export const kill = (child: ChildProcess | undefined) => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

/**
 * Reads `source` with 'data' events (cheaper per chunk than async iteration), hands every chunk to
 * `handle` and pauses while `sink` is full. Resolves at the end of `source`; rejects with its error,
 * with what `handle` throws, or when `sink` closes early.
 */
export const relay = (source: Readable, sink: Writable | undefined, handle: (chunk: Buffer) => boolean): Promise<void> =>
  new Promise((resolve, reject) => {
    let finished = false
    const finish = (e?: unknown) => {
      if (finished) return
      finished = true
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", finish)
      source.off("close", onSourceClose)
      sink?.off("drain", onDrain)
      sink?.off("close", onClose)
      if (e === undefined) resolve()
      else reject(e)
    }
    const onDrain = () => source.resume()
    const onClose = () => finish(new TarExtractError("the consumer closed its input early"))
    const onEnd = () => finish()
    const onSourceClose = () => finish(new Error("the input closed before its end"))
    const onData = (chunk: Buffer | string) => {
      try {
        if (!handle(typeof chunk === "string" ? Buffer.from(chunk) : chunk)) source.pause()
      } catch (e) {
        source.pause()
        finish(e)
      }
    }
    // a source that ended or was destroyed before the relay started (the caller awaited something first)
    if (source.readableEnded) return finish()
    if (source.destroyed) return finish(source.errored ?? new Error("the input closed before its end"))
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", finish)
    source.once("close", onSourceClose)
    sink?.on("drain", onDrain)
    sink?.once("close", onClose)
  })

/** What `p` failed with, or undefined once it resolved. */
export const failureOf = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e)

/**
 * The input's own failure (a cap, an aborted body) when the children stopped (`e`, a TarExtractError)
 * because of it: that is the error to report. Undefined otherwise.
 */
export const inputFailedFirst = async (feeding: Promise<void>, e: unknown): Promise<unknown> => {
  const fed = await failureOf(feeding)
  return fed !== undefined && !(fed instanceof TarExtractError) && e instanceof TarExtractError ? fed : undefined
}

/** A relay handler writing every chunk to `sink`, failing with `cap.error()` once more than `cap.bytes` arrived. */
export const countedWrite = (sink: Writable, cap: { readonly bytes: number; readonly error: () => Error } | undefined) => {
  let seen = 0
  return (chunk: Buffer): boolean => {
    seen += chunk.length
    if (cap !== undefined && seen > cap.bytes) throw cap.error()
    return sink.write(chunk)
  }
}

export const collect = (stream: Readable | null, limit: number): () => string => {
  let text = ""
  stream?.on("data", (c: Buffer) => {
    if (text.length < limit) text += c.toString("utf8")
  })
  return () => text.slice(0, limit).trim()
}

export const tarArgs = (dest: string, sameOwner: boolean) => [
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
  "--blocking-factor=256",
  "--read-full-records",
  "--warning=no-unknown-keyword"
]
