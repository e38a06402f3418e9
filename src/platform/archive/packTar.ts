/**
 * A directory as a tar stream (ADR 0902): GNU `tar -c` (names `./…`, sorted, numeric ids, symlinks
 * stored as links and never followed — tar opens every component relative to its parent with
 * O_NOFOLLOW — hard links kept as links) piped straight into `zstd -T0` when compressed; the daemon only
 * relays the output. A first `find` pass collects the distinct host ids (mapped to the ids the container
 * sees with --owner-map/--group-map; ids outside the range become 0) and the devices and fifos (left
 * out with exclude patterns; tar skips sockets itself). A file that changes while it is read is stored
 * with the size its header has (cut, or padded with zeros), as a live copy must be.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import type { Socket } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { PassThrough, type Readable } from "node:stream"
import { openOsPipe } from "./osPipe.js"

export interface IdShift {
  readonly base: number
  readonly size: number
}

/** A host id as the container sees it (ids outside the range become 0). */
export const unshiftId = (id: number, shift: IdShift): number => id >= shift.base && id < shift.base + shift.size ? id - shift.base : 0

export interface PackedTar {
  /** The archive (failed with an error when tar or zstd fail; a cut stream then). */
  readonly stream: Readable
  /** Stops the producers (idempotent). */
  readonly stop: () => void
  /** The archive went to the sink: `stream` carries no data, it only ends (or fails) with the producers. */
  readonly direct: boolean
}

interface Survey {
  readonly uids: ReadonlySet<number>
  readonly gids: ReadonlySet<number>
  readonly specials: ReadonlyArray<string>
}

const run = (child: ChildProcess, event: "close" | "exit" = "close"): Promise<number | null> =>
  new Promise((resolve) => {
    child.once("error", () => resolve(-1))
    child.once(event, (code: number | null) => resolve(code))
  })

/** Distinct ids and the device/fifo paths below `root` (one `find` pass). */
const survey = async (root: string): Promise<Survey> => {
  const find = spawn("find", [
    ".",
    "(",
    "-type",
    "b",
    "-o",
    "-type",
    "c",
    "-o",
    "-type",
    "p",
    ")",
    "-printf",
    "S%p\\0",
    "-o",
    "-printf",
    "%U:%G\\0"
  ], {
    cwd: root,
    stdio: ["ignore", "pipe", "ignore"]
  })
  const uids = new Set<number>()
  const gids = new Set<number>()
  const specials: Array<string> = []
  let rest = Buffer.alloc(0)
  const done = run(find)
  for await (const chunk of find.stdout) {
    const piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
    const buf = rest.length === 0 ? piece : Buffer.concat([rest, piece])
    let at = 0
    for (let nul = buf.indexOf(0, at); nul !== -1; nul = buf.indexOf(0, at)) {
      const item = buf.toString("utf8", at, nul)
      at = nul + 1
      if (item.startsWith("S")) specials.push(item.slice(1))
      else {
        const [u, g] = item.split(":")
        uids.add(Number(u))
        gids.add(Number(g))
      }
    }
    rest = Buffer.from(buf.subarray(at))
  }
  const code = await done
  // find exits 1 when an entry vanished while it walked (a live volume): the survey is still usable
  if (code !== 0 && code !== 1) throw new Error(`find exited ${code ?? "on a signal"} in ${root}`)
  return { uids, gids, specials }
}

/** An exclude pattern matching exactly `./name` (wildcards escaped; a newline, which a pattern file cannot hold, becomes `?`). */
const excludePattern = (rel: string) => rel.replace(/[\\*?[]/g, (c) => `\\${c}`).replace(/\n/g, "?")

const mapFile = (ids: ReadonlySet<number>, shift: IdShift) =>
  [...ids].filter(Number.isInteger).map((id) => `+${id} +${unshiftId(id, shift)}:${unshiftId(id, shift)}\n`).join("")

/**
 * Where a backup can go without passing through the daemon (ADR 0903): a socket that has a file
 * descriptor (the HTTP response head already on it) and the `denia-init` helper whose `send-pipe`
 * mode splices the archive into it.
 */
export interface PackSink {
  readonly socket: Socket
  readonly helper: string
  /** A client that takes nothing for this long is cut (the API's idle timeout; 0 = never). */
  readonly idleMs: number
}

/** Starts packing `root`; `shift` set = store container ids. */
export const packTar = async (
  root: string,
  compress: "none" | "zstd",
  shift: IdShift | undefined,
  sink?: PackSink
): Promise<PackedTar> => {
  const found = await survey(root)
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), "denia-pack-"))
  const cleanup = () => void fs.rm(scratch, { recursive: true, force: true }).catch(() => undefined)
  const args = [
    "-c",
    "-f",
    "-",
    "-C",
    root,
    "--numeric-owner",
    "--sort=name",
    "--ignore-failed-read",
    "--warning=no-file-changed",
    "--warning=no-file-shrank",
    "--warning=no-file-removed",
    "--warning=no-file-ignored"
  ]
  try {
    if (found.specials.length > 0) {
      const excludes = path.join(scratch, "exclude")
      await fs.writeFile(excludes, found.specials.map((s) => `${excludePattern(s)}\n`).join(""), { mode: 0o600 })
      args.push("--anchored", `--exclude-from=${excludes}`)
    }
    if (shift !== undefined) {
      const owners = path.join(scratch, "owners")
      const groups = path.join(scratch, "groups")
      await fs.writeFile(owners, mapFile(found.uids, shift), { mode: 0o600 })
      await fs.writeFile(groups, mapFile(found.gids, shift), { mode: 0o600 })
      args.push(`--owner-map=${owners}`, `--group-map=${groups}`)
    }
  } catch (e) {
    cleanup()
    throw e
  }
  args.push(".")
  // every link between children is a kernel pipe (osPipe.ts); a socketpair through Node's stdio if none can be made
  const link = compress === "zstd" ? await openOsPipe() : undefined
  // with a sink, the last producer writes into a pipe that `denia-init send-pipe` splices into the socket
  const toSink = sink === undefined ? undefined : await openOsPipe()
  const tar = spawn("tar", args, { stdio: ["ignore", (compress === "zstd" ? link?.write : toSink?.write) ?? "pipe", "pipe"] })
  const zstd = compress === "zstd"
    ? spawn("zstd", ["-q", "-c", "-T0"], { stdio: [link?.read ?? tar.stdout ?? "ignore", toSink?.write ?? "pipe", "ignore"] })
    : undefined
  const sender = sink !== undefined && toSink !== undefined
    ? spawn(sink.helper, ["send-pipe", "3", String(Math.max(0, Math.floor(sink.idleMs)))], {
      stdio: [toSink.read, "ignore", "pipe", sink.socket]
    })
    : undefined
  // listened to before anything is awaited: a child may exit meanwhile
  const tarExited = run(tar, "exit")
  const zstdDone = zstd === undefined ? Promise.resolve(0) : run(zstd)
  const senderDone = sender === undefined ? Promise.resolve(0) : run(sender)
  let errors = ""
  const collectErrors = (c: Buffer) => {
    if (errors.length < 2000) errors += c.toString("utf8")
  }
  tar.stderr?.on("data", collectErrors)
  sender?.stderr?.on("data", collectErrors)
  // the children hold the pipes now; the daemon's ends are closed so only they share them
  await Promise.all([link?.close(), toSink?.close()])
  if (zstd !== undefined) tar.stdout?.destroy()
  const children = [tar, ...(zstd === undefined ? [] : [zstd]), ...(sender === undefined ? [] : [sender])]
  const producer = zstd ?? tar
  const out = new PassThrough({ highWaterMark: 1024 * 1024 })
  const relayed = producer.stdout
  relayed?.pipe(out, { end: false })
  let stopped = false
  const stop = () => {
    stopped = true
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  }
  out.on("close", stop)
  const outputEnded = relayed === null ? Promise.resolve() : new Promise<void>((resolve) => relayed.once("close", () => resolve()))
  void Promise.all([tarExited, zstdDone, senderDone, outputEnded]).then(([tarCode, zstdCode, senderCode]) => {
    cleanup()
    if (stopped) return
    // tar exits 1 when a file changed while it was read: the live copy is still complete
    if ((tarCode === 0 || tarCode === 1) && zstdCode === 0 && senderCode === 0) out.end()
    else {
      const codes = `tar -c exited ${tarCode ?? "on a signal"}, zstd ${zstdCode ?? "on a signal"}, send-pipe ${senderCode ?? "on a signal"}`
      out.destroy(new Error(`${codes}: ${errors.trim()}`))
    }
  })
  return { stream: out, stop, direct: sender !== undefined }
}
