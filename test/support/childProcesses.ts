/**
 * Children of this test process found through /proc: a test that must act only once the in-process
 * daemon has started a helper (e.g. `denia-init recv-pipe`) waits for it instead of sleeping.
 */
import * as fs from "node:fs"
import type { ClientRequest } from "node:http"

/** This process's direct children with their argv (empty for one that has exited). */
const children = (): Array<{ pid: number; argv: Array<string> }> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      // field 4 of stat is the parent pid; the command name (field 2) may contain spaces, so split after ')'
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      if (ppid !== process.pid) return []
      const argv = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter((a) => a !== "")
      return [{ pid: Number(entry), argv }]
    } catch {
      return []
    }
  })

/** Pids of this process's direct children whose command line contains `arg`. */
export const childrenWithArg = (arg: string): Array<number> => children().flatMap((c) => (c.argv.includes(arg) ? [c.pid] : []))

/**
 * Resolves once a child with `arg` runs that is not one of `before` (children an earlier request
 * started may still be exiting); rejects after `timeoutMs`.
 */
export const waitForNewChildWithArg = async (
  arg: string,
  before: ReadonlyArray<number>,
  timeoutMs = 30_000
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!childrenWithArg(arg).some((pid) => !before.includes(pid))) {
    if (Date.now() > deadline) throw new Error(`no child process with ${arg} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Sends `req`'s head now and `body` once the in-process daemon has started a new `denia-init recv-pipe`
 * helper for it, i.e. once the handler holds the connection and none of the body has arrived (ADR 0904).
 */
export const endOnceHelperHolds = (req: ClientRequest, body: Buffer): Promise<void> => {
  const before = childrenWithArg("recv-pipe")
  req.flushHeaders()
  return waitForNewChildWithArg("recv-pipe", before).then(() => void req.end(body))
}

/** This process's direct children, `pid: command line` each. */
export const describeChildren = (): Array<string> =>
  children().map((c) => `${c.pid}: ${c.argv.length === 0 ? "(exited)" : c.argv.join(" ")}`)
