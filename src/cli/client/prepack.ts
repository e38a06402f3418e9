/**
 * Packing that runs ahead of the push command (ADR 0810). `denia push` lists and packs its context
 * while the rest of the CLI still loads (src/main.ts calls `startEarlyPrepack` before it imports the
 * CLI) and while the service is resolved; the compressed output is buffered (pack.ts) until the upload
 * takes it. The early start reads the `.denia` manifest for `context` and `dockerfile` only, with the
 * manifest's own path rule; the push command decodes the manifest fully and takes the early pack only
 * when both paths are the same, otherwise (or when it fails first) the early pack is discarded: nothing
 * it read is ever sent. For a daemon on this host (the caller tells, from the connection) the tar is not
 * compressed (ADR 0820); it then waits, unstarted, for the upload's socket, into which tar and the
 * package's `denia-init send-pipe` write it (sendPlain.ts), or, without that helper, it is relayed like
 * the compressed stream. Imports only pack.ts, sendPlain.ts, smol-toml and node built-ins (no Effect).
 */
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { parse } from "smol-toml"
import { type ContextListing, listContext, nativePackerAvailable, packContext, type PackedContext, tarBytes } from "./pack.js"
import { relativePathProblem } from "./relativePath.js"
import { findSendHelper, sendPlainTar } from "./sendPlain.js"

export interface Prepack {
  readonly contextDir: string
  readonly dockerfile: string
  /** The files that go into the upload; rejects when the context cannot be read. */
  readonly listing: Promise<ContextListing>
  /** The compressed tar, started as soon as the listing is known. */
  readonly packed: Promise<PackedContext>
  /** Sends the uncompressed tar byte counts (the progress bar's) to `report` from now on; those so far at once. */
  readonly onPacked: (report: (bytes: number) => void) => void
  /** Stops the packers and drops what they buffered (idempotent; harmless once the stream was consumed). */
  readonly discard: () => void
  /** A compressed pack of the same listing, for a second try when the plain tar's length changed (ADR 0820). */
  readonly packCompressed: (onPacked: (bytes: number) => void) => Promise<PackedContext>
}

/** Lists `contextDir` and starts packing it at once; `plain`: a plain tar (the daemon runs on this host). */
export const prepack = (contextDir: string, dockerfile: string, plain = false): Prepack => {
  let report: ((bytes: number) => void) | undefined
  let early = 0
  let discarded = false
  let stream: Readable | undefined
  const listing = listContext(contextDir, dockerfile)
  // the tool checks run beside the listing (children, like it) rather than blocking after it
  const native = nativePackerAvailable()
  // a plain tar goes from the packers into the socket when the package's helper can splice it there
  const sendHelper = plain ? findSendHelper().catch(() => undefined) : Promise.resolve(undefined)
  const onPacked = (bytes: number) => {
    if (report === undefined) early += bytes
    else report(bytes)
  }
  const packed = Promise.all([listing, native, sendHelper]).then(([l, n, helper]): PackedContext => {
    if (discarded) throw new Error("the pack was discarded")
    if (plain && n && helper !== undefined) {
      return {
        format: "tar",
        packer: "gnu-tar",
        length: tarBytes(l),
        sendInto: (socket, onWritten) =>
          sendPlainTar(contextDir, l, socket, helper, (bytes) => {
            onPacked(bytes)
            onWritten(bytes)
          })
      }
    }
    const p = packContext(contextDir, l, onPacked, n, plain)
    stream = p.stream
    return p
  })
  // awaited by the push command when it uses them; an unused rejection is not an error
  listing.catch(() => undefined)
  packed.catch(() => undefined)
  return {
    contextDir,
    dockerfile,
    listing,
    packed,
    onPacked: (r) => {
      report = r
      if (early > 0) r(early)
      early = 0
    },
    discard: () => {
      discarded = true
      stream?.destroy()
    },
    packCompressed: async (onPacked) => {
      const [l, n] = await Promise.all([listing, native])
      const p = packContext(contextDir, l, onPacked, n, false)
      stream = p.stream
      return p
    }
  }
}

/** Where the early pack waits for the push command: a global, since src/main.ts and the bundled CLI load this module separately. */
const SLOT = Symbol.for("denia.cli.prepack")

const isPrepack = (x: unknown): x is Prepack =>
  typeof x === "object" && x !== null && "contextDir" in x && typeof x.contextDir === "string" && "dockerfile" in x &&
  typeof x.dockerfile === "string" && "discard" in x && typeof x.discard === "function"

const takeSlot = (): Prepack | undefined => {
  const found: unknown = Reflect.get(globalThis, SLOT)
  Reflect.deleteProperty(globalThis, SLOT)
  return isPrepack(found) ? found : undefined
}

/** `context` and `dockerfile` of the nearest `.denia` from `cwd` up, when both are valid; undefined otherwise. */
const manifestPaths = async (cwd: string): Promise<{ contextDir: string; dockerfile: string } | undefined> => {
  let dir = path.resolve(cwd)
  for (let i = 0; i < 64; i++) {
    const text = await fsp.readFile(path.join(dir, ".denia"), "utf8").catch(() => undefined)
    if (text !== undefined) {
      const raw: unknown = parse(text)
      const field = (name: string, fallback: string): string | undefined => {
        const v: unknown = typeof raw === "object" && raw !== null ? Reflect.get(raw, name) : undefined
        const value = v === undefined ? fallback : v
        return typeof value === "string" && relativePathProblem(value) === undefined ? value : undefined
      }
      const context = field("context", ".")
      const dockerfile = field("dockerfile", "Dockerfile")
      return context === undefined || dockerfile === undefined ? undefined : { contextDir: path.resolve(dir, context), dockerfile }
    }
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
  return undefined
}

/**
 * Starts packing the context of the manifest found from `cwd`, before the CLI is loaded (src/main.ts,
 * `denia push` only). Any problem (no manifest, not TOML, an invalid path) leaves it to the push command,
 * which reports it. `plain`: the daemon the push goes to runs on this host (a guess that only decides
 * the speed: either format is accepted).
 */
export const startEarlyPrepack = async (cwd: string, plain = false): Promise<void> => {
  const found = await manifestPaths(cwd).catch(() => undefined)
  if (found === undefined) return
  takeSlot()?.discard()
  Reflect.set(globalThis, SLOT, prepack(found.contextDir, found.dockerfile, plain))
}

/** The early pack when it packs exactly `contextDir` with `dockerfile`, left in its slot (leanPush.ts decides later whether to take it). */
export const peekEarlyPrepack = (contextDir: string, dockerfile: string): Prepack | undefined => {
  const found: unknown = Reflect.get(globalThis, SLOT)
  return isPrepack(found) && found.contextDir === contextDir && found.dockerfile === dockerfile ? found : undefined
}

/** The early pack when it packs exactly `contextDir` with `dockerfile`; any other is discarded. */
export const takeEarlyPrepack = (contextDir: string, dockerfile: string): Prepack | undefined => {
  const found = takeSlot()
  if (found === undefined) return undefined
  if (found.contextDir === contextDir && found.dockerfile === dockerfile) return found
  found.discard()
  return undefined
}
