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
import * as fsCallback from "node:fs"
import { constants } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

export interface OsPipe {
  /** The read end (blocking). */
  readonly read: number
  /** The write end (blocking). */
  readonly write: number
  /** Closes the caller's copies of both ends (idempotent). */
  readonly close: () => Promise<void>
  /** Closes the caller's copy of the write end only (idempotent; `close` then closes the read end). */
  readonly closeWrite: () => Promise<void>
}

const mkfifo = (file: string) =>
  new Promise<void>((resolve, reject) => execFile("mkfifo", ["-m", "600", "--", file], (e) => (e === null ? resolve() : reject(e))))

/** Raw descriptors (never closed behind the caller's back, unlike a FileHandle that is collected). */
const openFd = promisify(fsCallback.open)
const closeFd = promisify(fsCallback.close)

/** A new pipe, or undefined when this host cannot make one (no mkfifo, no tmpdir). */
export const openOsPipe = async (): Promise<OsPipe | undefined> => {
  let dir: string | undefined
  const opened: Array<number> = []
  try {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "denia-pipe-"))
    const fifo = path.join(dir, "p")
    await mkfifo(fifo)
    const probe = await openFd(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    opened.push(probe)
    const write = await openFd(fifo, constants.O_WRONLY)
    opened.push(write)
    const read = await openFd(fifo, constants.O_RDONLY)
    opened.push(read)
    opened.shift()
    await closeFd(probe)
    let readOpen = true
    let writeOpen = true
    const closeWrite = async () => {
      if (!writeOpen) return
      writeOpen = false
      await closeFd(write).catch(() => undefined)
    }
    return {
      read,
      write,
      closeWrite,
      close: async () => {
        const closeRead = readOpen ? closeFd(read).catch(() => undefined) : undefined
        readOpen = false
        await Promise.all([closeRead, closeWrite()])
      }
    }
  } catch {
    await Promise.all(opened.map((fd) => closeFd(fd).catch(() => undefined)))
    return undefined
  } finally {
    if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}
