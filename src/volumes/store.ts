/**
 * The file-system side of volumes (promise code, wrapped by `Volumes`):
 * creating a volume once (copy-up or an empty directory owned by the image's
 * user), listing what is on disk, removing, and the restore swap. Callers
 * hold the volume's lock.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { isResourceName } from "../domain/names.js"
import { takeRequestBody } from "../platform/archive/requestBody.js"
import { syncDirectoryPromise } from "../platform/atomicWrite.js"
import { copyTree, imageDirAt } from "./copyUp.js"
import { extractArchive, type ExtractOptions } from "./extract.js"
import type { IdShift } from "./pack.js"
import { discardInBackground, ensureDirBelow, lstatOrUndefined, recoverSwap } from "./paths.js"

export interface ImageView {
  /** The unpacked bundle (read-only rootfs) of the deployment. */
  readonly rootfs: string
  /** The image's user (container ids). */
  readonly uid: number
  readonly gid: number
  /** `image`: the bundle keeps the image's own owners (made from a build's layer trees, ADR 0822);
   * absent or `shifted`: they are shifted into the user-namespace range already. */
  readonly owners?: "shifted" | "image"
}

export interface Created {
  readonly path: string
  /** How the volume came to be: it existed, or copied from the image, or empty. */
  readonly origin: "existing" | "copied" | "empty"
  readonly entries: number
}

/** The live volume at `serviceDir/name`, created when missing (atomically: prepared beside, then renamed in). */
export const ensureVolume = async (
  volumesRoot: string,
  serviceDir: string,
  name: string,
  mountPath: string,
  image: ImageView,
  shift: IdShift | undefined
): Promise<Created> => {
  await ensureDirBelow(path.dirname(volumesRoot), serviceDir)
  await recoverSwap(serviceDir, name)
  const live = path.join(serviceDir, name)
  const st = await lstatOrUndefined(live)
  if (st !== undefined) {
    if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`volume ${name} is not a plain directory`)
    return { path: live, origin: "existing", entries: 0 }
  }
  const creating = path.join(serviceDir, `.creating-${name}`)
  await fs.mkdir(creating, { mode: 0o700 })
  const from = await imageDirAt(image.rootfs, mountPath)
  let entries = 0
  if (from !== undefined) {
    entries = await copyTree(from, creating, shift === undefined ? undefined : image.owners === "image" ? shift.base : 0)
  } else {
    if (shift !== undefined) await fs.chown(creating, shift.base + image.uid, shift.base + image.gid)
    await fs.chmod(creating, 0o755)
  }
  await fs.rename(creating, live)
  await syncDirectoryPromise(serviceDir)
  return { path: live, origin: from === undefined ? "empty" : "copied", entries }
}

/** Volume directories on disk for a service (names only; missing service dir = none). */
export const volumesOnDisk = async (serviceDir: string): Promise<ReadonlyArray<string>> => {
  const names = await fs.readdir(serviceDir, { withFileTypes: true }).catch((e: unknown) => {
    if (e instanceof Error && "code" in e && e.code === "ENOENT") return []
    throw e
  })
  return names.filter((d) => d.isDirectory() && isResourceName(d.name)).map((d) => d.name).sort()
}

export const volumeExists = async (serviceDir: string, name: string): Promise<boolean> => {
  const st = await lstatOrUndefined(path.join(serviceDir, name))
  return st !== undefined && st.isDirectory() && !st.isSymbolicLink()
}

export const removeVolume = async (serviceDir: string, name: string): Promise<void> => {
  await recoverSwap(serviceDir, name)
  await fs.rm(path.join(serviceDir, name), { recursive: true, force: true })
  await syncDirectoryPromise(serviceDir).catch(() => undefined)
}

/**
 * Restore: the archive is unpacked into `.incoming-<name>` beside the volume,
 * then swapped in with two renames (the old copy moves to `.outgoing-<name>`
 * first and is removed last, in the background); `recoverSwap` finishes or undoes a swap a crash
 * interrupted. Nothing is written outside `serviceDir`.
 */
export const restoreVolume = async (
  volumesRoot: string,
  serviceDir: string,
  name: string,
  body: Readable,
  maxBodyBytes: number,
  options: ExtractOptions
): Promise<number> => {
  await ensureDirBelow(path.dirname(volumesRoot), serviceDir)
  await recoverSwap(serviceDir, name)
  const live = path.join(serviceDir, name)
  const incoming = path.join(serviceDir, `.incoming-${name}`)
  const outgoing = path.join(serviceDir, `.outgoing-${name}`)
  await fs.mkdir(incoming, { mode: 0o700 })
  try {
    // on a plain connection the body goes from the socket to the decompressor inside the kernel (ADR 0904)
    const taken = await takeRequestBody(body, { helper: options.tarPipeHelper })
    const entries = await extractArchive(taken ?? body, incoming, { ...options, maxBodyBytes }).finally(async () => {
      taken?.stop()
      await taken?.release()
    })
    await syncDirectoryPromise(incoming)
    const hadLive = (await lstatOrUndefined(live)) !== undefined
    if (hadLive) await fs.rename(live, outgoing)
    await fs.rename(incoming, live)
    await syncDirectoryPromise(serviceDir)
    // the old copy is unreachable now; its files are unlinked in the background (ADR 0903)
    if (hadLive) await discardInBackground(serviceDir, name, outgoing)
    return entries
  } catch (e) {
    await fs.rm(incoming, { recursive: true, force: true }).catch(() => undefined)
    throw e
  }
}
