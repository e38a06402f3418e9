/**
 * Children of this test process found through /proc: a test that must act only once the in-process
 * daemon has started a helper (e.g. `denia-init recv-pipe`) waits for it instead of sleeping.
 */
import * as fs from "node:fs"

/** Pids of this process's direct children whose command line contains `arg`. */
export const childrenWithArg = (arg: string): Array<number> =>
  fs.readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return []
    try {
      // field 4 of stat is the parent pid; the command name (field 2) may contain spaces, so split after ')'
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      if (ppid !== process.pid) return []
      return fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(arg) ? [Number(entry)] : []
    } catch {
      return []
    }
  })

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
