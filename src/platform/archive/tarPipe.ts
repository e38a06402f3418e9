/**
 * Checked extraction through `denia-init tar-pipe` (ADR 0902): the decompressor's output goes straight
 * to the helper and from there to `tar -x`; the daemon sees only headers and pax/long-name data (the
 * TarGate decides, exactly as in-process) and has the helper splice the entry data across. The
 * decompressed stream never passes through Node.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import { Duplex, Readable } from "node:stream"
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
import { helperHasMode } from "./helperModes.js"
import { openOsPipe } from "./osPipe.js"
import { drive, type PipeCap, PipeControl } from "./pipeControl.js"
import type { PipeInput } from "./requestBody.js"
import { type GatePolicy, TarGate } from "./tarGate.js"

export interface PipeExtractOptions {
  readonly compression: "zstd" | "gzip" | "none"
  readonly policy: GatePolicy
  /** Where `tar -x` writes (an empty directory); without it the archive is only checked. */
  readonly dest: string | undefined
  readonly sameOwner: boolean
  readonly maxTarBytes?: PipeCap
  readonly maxInputBytes?: PipeCap
  /** The `denia-init` binary. */
  readonly helper: string
  /** The archive must close with its end-of-archive block (extractTar.ts). */
  readonly requireEnd?: boolean
}

/**
 * Whether `helper` exists and has the `tar-pipe` mode (an older build does not): asked once per path.
 * Without it extraction stays on the in-process gate.
 */
export const tarPipeUsable = (helper: string): Promise<boolean> => helperHasMode(helper, "tar-pipe")

/** Runs decompressor → tar-pipe helper → `tar -x` (or only checks); resolves with the number of entries accepted. */
export const extractViaPipe = async (
  from: Readable | { readonly file: string } | PipeInput,
  options: PipeExtractOptions
): Promise<number> => {
  // without `dest` it only checks: every entry's data is SKIPped inside the helper, no tar runs
  const gate = new TarGate(options.policy, options.dest !== undefined, options.requireEnd === true)
  // a body already on its way into a pipe (requestBody.ts): the first child reads that pipe
  const input = from instanceof Readable ? from : undefined
  const piped = from instanceof Readable || "file" in from ? undefined : from
  const file = !(from instanceof Readable) && "file" in from ? from.file : undefined
  const plainFile = file !== undefined && options.compression === "none" ? await fs.open(file, "r") : undefined
  // kernel pipes between the children (osPipe.ts): the helper splices pipe to pipe; socketpairs if none can be made
  const decoded = options.compression === "none" ? undefined : await openOsPipe()
  const toTar = options.dest === undefined ? undefined : await openOsPipe()
  const tar = options.dest === undefined
    ? undefined
    : spawn("tar", tarArgs(options.dest, options.sameOwner), { stdio: [toTar?.read ?? "pipe", "ignore", "pipe"] })
  const tarErrors = tar === undefined ? () => "" : collect(tar.stderr, 2000)
  const tarDone = tar === undefined ? Promise.resolve(0) : exited(tar)
  const decoder = options.compression === "none"
    ? undefined
    : spawn(options.compression === "zstd" ? "zstd" : "gzip", ["-d", "-c", "-q", ...(file !== undefined ? ["--", file] : [])], {
      stdio: [input !== undefined ? "pipe" : piped?.fd ?? "ignore", decoded?.write ?? "pipe", "ignore"]
    })
  const decoderDone = decoder === undefined ? Promise.resolve(0) : exited(decoder)
  const helperIn = decoded?.read ?? decoder?.stdout ?? plainFile?.fd ?? piped?.fd ?? "pipe"
  const helperOut = toTar?.write ?? tar?.stdin ?? "ignore"
  const helper = spawn(options.helper, ["tar-pipe", "3"], { stdio: [helperIn, helperOut, "pipe", "pipe"] })
  const helperErrors = collect(helper.stderr, 500)
  const helperDone = exited(helper)
  // the helper holds its own copies: ours would keep tar's input open and compete for the decompressor's output
  await Promise.all([decoded?.close(), toTar?.close(), piped?.release()])
  decoder?.stdout?.destroy()
  tar?.stdin?.destroy()
  await plainFile?.close()
  let feeding: Promise<void> = piped?.done ?? Promise.resolve()
  if (piped !== undefined) {
    feeding.catch(() => {
      kill(decoder)
      kill(helper)
    })
  }
  const sink = decoder === undefined ? helper.stdin : decoder.stdin
  if (input !== undefined && sink !== null) {
    sink.on("error", () => undefined)
    feeding = relay(input, sink, countedWrite(sink, options.maxInputBytes)).then(() => void sink.end())
    feeding.catch(() => {
      kill(decoder)
      kill(helper)
    })
  }
  const socket = helper.stdio[3]
  try {
    if (!(socket instanceof Duplex)) throw new TarExtractError("the tar pipe helper has no control channel")
    const control = new PipeControl(socket, helperErrors)
    await drive(control, gate, options.maxTarBytes)
    const fed = await failureOf(feeding)
    const code = await decoderDone
    if (fed !== undefined && !(fed instanceof TarExtractError && code !== 0)) throw fed
    if (code !== 0) throw new DecompressError(`not a valid ${options.compression} stream`)
    const last = gate.end()
    await control.write(Buffer.concat(last))
    await control.end()
    socket.end()
    const helperCode = await helperDone
    if (helperCode !== 0) throw new TarExtractError(`the tar pipe helper exited ${helperCode ?? "on a signal"}: ${helperErrors()}`)
    const tarCode = await tarDone
    if (tarCode !== 0) throw new TarExtractError(`tar -x exited ${tarCode ?? "on a signal"}: ${tarErrors()}`)
    return gate.entries
  } catch (e) {
    kill(decoder)
    kill(helper)
    kill(tar)
    input?.destroy()
    piped?.stop()
    socket?.destroy()
    await Promise.all([decoderDone, helperDone, tarDone, feeding.catch(() => undefined)])
    // the input failed first (a cap, an aborted body): the children stopped because of it
    const first = await inputFailedFirst(feeding, e)
    if (first !== undefined) throw first
    // a decompressor that failed first explains a helper or tar that stopped after it
    if (e instanceof TarExtractError && (await decoderDone) !== 0 && decoder !== undefined && decoder.signalCode === null) {
      throw new DecompressError(`not a valid ${options.compression} stream`)
    }
    throw e
  }
}
