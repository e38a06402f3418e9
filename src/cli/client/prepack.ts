/**
 * Packing that runs ahead of the push command (ADR 0810). `denia push` lists and packs its context
 * while the rest of the CLI still loads (src/main.ts calls `startEarlyPrepack` before it imports the
 * CLI) and while the service is resolved; the compressed output is buffered (pack.ts) until the upload
 * takes it. The early start reads the `.denia` manifest for `context` and `dockerfile` only, with the
 * manifest's own path rule; the push command decodes the manifest fully and takes the early pack only
 * when both paths are the same, otherwise (or when it fails first) the early pack is discarded: nothing
 * it read is ever sent. Imports only pack.ts, smol-toml and node built-ins (no Effect).
 */
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { parse } from "smol-toml"
import { type ContextListing, listContext, nativePackerAvailable, packContext, type PackedContext } from "./pack.js"
import { relativePathProblem } from "./relativePath.js"

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
}

/** Lists `contextDir` and starts packing it at once. */
export const prepack = (contextDir: string, dockerfile: string): Prepack => {
  let report: ((bytes: number) => void) | undefined
  let early = 0
  let discarded = false
  let stream: Readable | undefined
  const listing = listContext(contextDir, dockerfile)
  // the tool checks run beside the listing (children, like it) rather than blocking after it
  const native = nativePackerAvailable()
  const packed = Promise.all([listing, native]).then(([l, n]) => {
    if (discarded) throw new Error("the pack was discarded")
    const p = packContext(contextDir, l, (bytes) => {
      if (report === undefined) early += bytes
      else report(bytes)
    }, n)
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
 * which reports it.
 */
export const startEarlyPrepack = async (cwd: string): Promise<void> => {
  const found = await manifestPaths(cwd).catch(() => undefined)
  if (found === undefined) return
  takeSlot()?.discard()
  Reflect.set(globalThis, SLOT, prepack(found.contextDir, found.dockerfile))
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
