/**
 * A kernel pipe between two child processes (ADR 0903). Node gives a child's `stdio: "pipe"` a
 * socketpair, and a socketpair passed on to a second child stays one: the two ends cannot `splice(2)`
 * into each other or into a file, and every byte costs a socket send and receive. A FIFO opened twice
 * is an ordinary pipe once it is open, so: `mkfifo` in a private 0700 directory, open the read end
 * non-blocking (it opens at once), then the write end (there is a reader, so it opens at once), then a
 * blocking read end (there is a writer), close the non-blocking one and remove the name. Both fds are
 * blocking and belong to the caller, who hands them to the children and closes its own copies with
 * `close`. Without `mkfifo` the caller falls back to Node's socketpairs (`undefined`).
 */
import { execFile } from "node:child_process"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

export interface OsPipe {
  /** The read end (blocking). */
  readonly read: number
  /** The write end (blocking). */
  readonly write: number
  /** Closes the caller's copies of both ends (idempotent). */
  readonly close: () => Promise<void>
}

const mkfifo = (file: string) =>
  new Promise<void>((resolve, reject) => execFile("mkfifo", ["-m", "600", "--", file], (e) => (e === null ? resolve() : reject(e))))

/** A new pipe, or undefined when this host cannot make one (no mkfifo, no tmpdir). */
export const openOsPipe = async (): Promise<OsPipe | undefined> => {
  let dir: string | undefined
  const handles: Array<fs.FileHandle> = []
  try {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "denia-pipe-"))
    const fifo = path.join(dir, "p")
    await mkfifo(fifo)
    const probe = await fs.open(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    handles.push(probe)
    const write = await fs.open(fifo, constants.O_WRONLY)
    handles.push(write)
    const read = await fs.open(fifo, constants.O_RDONLY)
    handles.push(read)
    handles.splice(0, 1)
    await probe.close()
    let closed = false
    return {
      read: read.fd,
      write: write.fd,
      close: async () => {
        if (closed) return
        closed = true
        await Promise.all([read.close(), write.close()]).catch(() => undefined)
      }
    }
  } catch {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)))
    return undefined
  } finally {
    if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}
