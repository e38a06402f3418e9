/**
 * Spare clones of a chain snapshot (ADR 0812). The deploy's pull of a freshly built image starts by
 * cloning the base's snapshot (chains.ts) into its rootfs — `cp -a -l` of the whole base tree, the
 * largest step between "built and pushed" and the replica's start. When the base prewarm is done while
 * the build still runs, that clone is made then, beside the build and at its priority, into a spare
 * directory of the snapshot area; the pull takes the spare by the snapshot's layers and moves it into
 * its rootfs with one `rename` instead of cloning.
 *
 * A spare is made from a snapshot like the pull's own clone is (same command, same tree), lives in the
 * daemon's private snapshot area (a `.tmp-` directory, so `ChainSnapshots.init` removes one left by a
 * crash), is taken by one pull at most, and is removed by its owner's `release` when no pull took it.
 * At most one spare per chain exists at a time.
 */
import { type ChildProcess, execFile } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { ChainSnapshots } from "./chains.js"

interface Spare {
  /** The spare's temp directory (holding `rootfs/`), once the clone succeeded. */
  ready: Promise<string | undefined>
  /** The `cp` while it runs. */
  child: ChildProcess | undefined
}

const setNice = (child: ChildProcess | undefined, nice: number) => {
  if (child?.pid === undefined || child.exitCode !== null) return
  try {
    os.setPriority(child.pid, nice)
  } catch {
    // not permitted (raising priority needs root) or already gone: it runs on as it is
  }
}

export class ChainSpares {
  private readonly spares = new Map<string, Spare>()

  constructor(private readonly chains: ChainSnapshots) {}

  /**
   * Starts cloning the snapshot of exactly `layers` into a spare, the `cp` at nice `nice`. Returns its
   * release (removes the spare unless a pull took it; ends a clone still running), or undefined when
   * there is no such snapshot or a spare of it exists already.
   */
  async prepare(layers: ReadonlyArray<string>, nice: number): Promise<(() => Promise<void>) | undefined> {
    const key = this.chains.key(layers)
    if (this.spares.has(key) || !(await this.chains.has(layers))) return undefined
    if (this.spares.has(key)) return undefined
    const source = path.join(this.chains.dir, key, "rootfs")
    const spare: Spare = { ready: Promise.resolve(undefined), child: undefined }
    this.spares.set(key, spare)
    spare.ready = (async () => {
      let tmp: string | undefined
      try {
        const dir = await this.chains.tempDir()
        tmp = dir
        await fs.mkdir(path.join(dir, "rootfs"), { mode: 0o700 })
        const ok = await new Promise<boolean>((resolve) => {
          spare.child = execFile(
            "cp",
            ["-a", "-l", "--", `${source}/.`, path.join(dir, "rootfs")],
            { maxBuffer: 1024 * 1024 },
            (err) => resolve(err === null)
          )
          setNice(spare.child, nice)
        })
        spare.child = undefined
        if (ok) return tmp
      } catch {
        // no spare: the pull clones as before
      }
      if (tmp !== undefined) await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined)
      return undefined
    })()
    return async () => {
      if (this.spares.get(key) !== spare) return // taken by a pull (or replaced after a release)
      this.spares.delete(key)
      spare.child?.kill("SIGKILL")
      const dir = await spare.ready
      if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true })
    }
  }

  /**
   * Takes the spare of `layers` for a pull: its temp directory (the tree in `rootfs/`, the caller's to
   * move and then remove), waiting for a clone still running (at the daemon's priority from then on);
   * undefined when there is none or its clone failed. When `signal` aborts first, the spare is removed.
   */
  async take(layers: ReadonlyArray<string>, signal?: AbortSignal): Promise<string | undefined> {
    const key = this.chains.key(layers)
    const spare = this.spares.get(key)
    if (spare === undefined) return undefined
    this.spares.delete(key)
    setNice(spare.child, 0)
    const dir = await spare.ready
    if (dir !== undefined && signal?.aborted === true) {
      await fs.rm(dir, { recursive: true, force: true })
      return undefined
    }
    return dir
  }

  /**
   * Moves the spare of `layers` into `rootfs` (an empty directory) with one `rename`; false (and
   * `rootfs` still empty) when there is no spare or it cannot be moved there (another file system).
   */
  async moveInto(layers: ReadonlyArray<string>, rootfs: string, signal?: AbortSignal): Promise<boolean> {
    const dir = await this.take(layers, signal)
    if (dir === undefined) return false
    try {
      await fs.rename(path.join(dir, "rootfs"), rootfs)
      return true
    } catch {
      return false
    } finally {
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined)
    }
  }

  /** How many spares exist or are being made (tests). */
  get size(): number {
    return this.spares.size
  }
}
