/**
 * A plain tar written into the upload's connection by the packers themselves (ADR 0820): GNU tar's
 * output goes through a pipe into `denia-init send-pipe`, which splices it into the socket, so the
 * context never passes through the CLI. Used for a daemon on this host, whose package has the helper;
 * without it (another install, an older build) the plain tar is relayed by the CLI instead. Node stops
 * reading a socket it hands to a child: the caller resumes it once the body is sent. What tar wrote is
 * told by its `--totals` line, for the caller to hold against the declared length.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import type { Socket } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { exited } from "../../platform/archive/children.js"
import { helperHasMode } from "../../platform/archive/helperModes.js"
import { type ContextListing, gnuTarArgs, readTarStderr, tarFileList } from "./pack.js"

/** Levels above this module the package root may be: src/cli/client, dist/cli/client, dist/bundle/push. */
const MAX_LEVELS = 4

/** The package's `denia-init` when it is there and has `send-pipe`; looked up from this module's place. */
export const findSendHelper = async (from: string = path.dirname(fileURLToPath(import.meta.url))): Promise<string | undefined> => {
  let dir = from
  for (let i = 0; i <= MAX_LEVELS; i++) {
    const candidate = path.join(dir, "build", "native", "denia-init")
    if (fs.existsSync(candidate)) return (await helperHasMode(candidate, "send-pipe")) ? candidate : undefined
    dir = path.dirname(dir)
  }
  return undefined
}

/**
 * Runs `tar -c … --totals | denia-init send-pipe 3` with `socket` as fd 3; resolves with the bytes tar
 * wrote. Fails when tar fails (its 1, "a file changed as we read it", is accepted) or the helper does
 * (the daemon went away, or refused and closed).
 */
export const sendPlainTar = async (
  contextDir: string,
  listing: ContextListing,
  socket: Socket,
  helper: string,
  onPacked: (bytes: number) => void
): Promise<number> => {
  const tar = spawn("tar", [...gnuTarArgs(contextDir), "--totals"], { stdio: ["pipe", "pipe", "pipe"] })
  const sender = spawn(helper, ["send-pipe", "3"], { stdio: [tar.stdout, "ignore", "pipe", socket] })
  // the helper holds the read end: ours would keep tar from seeing it die
  tar.stdout.destroy()
  tar.stdin.on("error", () => undefined)
  tar.stdin.end(tarFileList(listing))
  const tarErrors = readTarStderr(tar.stderr, onPacked)
  let senderErrors = ""
  sender.stderr?.setEncoding("utf8")
  sender.stderr?.on("data", (c: string) => (senderErrors = `${senderErrors}${c}`.slice(-2048)))
  const [tarCode, senderCode] = await Promise.all([exited(tar), exited(sender)])
  if (senderCode !== 0) throw new Error(senderErrors.trim() === "" ? `send-pipe exited ${String(senderCode)}` : senderErrors.trim())
  if (tarCode !== 0 && tarCode !== 1) throw new Error(`tar exited ${String(tarCode)}: ${tarErrors().trim()}`)
  const total = /Total bytes written: (\d+)/.exec(tarErrors())
  if (total === null) throw new Error("tar did not say how many bytes it wrote")
  return Number(total[1])
}
