/**
 * Where volumes live: `<data_dir>/volumes/<project id>/<service name>/<volume>/`
 * (the project by id, so a project rename keeps its volumes; the service by
 * name, which never changes, so a service re-created under the same name
 * finds the volumes a delete kept). Every component is validated and created
 * one at a time with lstat checks: nothing below the data dir is reached
 * through a symlink. Beside each volume, `.incoming-<name>` and
 * `.outgoing-<name>` are the two halves of a restore's swap; the replaced
 * copy then waits as `.discarded-<name>-<uuid>` while a child `rm -rf`
 * removes it (ADR 0903).
 */
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { isResourceName } from "../domain/names.js"

const PROJECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export interface ServiceVolumesRef {
  readonly projectId: string
  readonly serviceName: string
}

export class UnsafeVolumePath extends Error {}

const check = (ok: boolean, what: string) => {
  if (!ok) throw new UnsafeVolumePath(`invalid ${what}`)
}

/** The service's volume directory (not created); throws on a component that is not a plain name. */
export const serviceDirOf = (volumesRoot: string, ref: ServiceVolumesRef): string => {
  check(PROJECT_ID.test(ref.projectId), "project id")
  check(isResourceName(ref.serviceName), "service name")
  return path.join(volumesRoot, ref.projectId, ref.serviceName)
}

export const volumeName = (name: string): string => {
  check(isResourceName(name), "volume name")
  return name
}

/** `lstat` that answers undefined for a missing path. */
export const lstatOrUndefined = async (p: string) => {
  try {
    return await fs.lstat(p)
  } catch (e) {
    if (e instanceof Error && "code" in e && e.code === "ENOENT") return undefined
    throw e
  }
}

/** `dir` is a real directory (never a symlink), created 0700 when missing — and so is every component from `base` down. */
export const ensureDirBelow = async (base: string, dir: string): Promise<void> => {
  const rel = path.relative(base, dir)
  check(rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel), "volume path")
  let cur = base
  for (const part of rel.split(path.sep)) {
    cur = path.join(cur, part)
    const st = await lstatOrUndefined(cur)
    if (st === undefined) {
      try {
        await fs.mkdir(cur, { mode: 0o700 })
      } catch (e) {
        if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e
      }
      const again = await fs.lstat(cur)
      check(again.isDirectory() && !again.isSymbolicLink(), `directory ${part}`)
    } else {
      check(st.isDirectory() && !st.isSymbolicLink(), `directory ${part} (not a plain directory)`)
    }
  }
}

const discardedPrefix = (name: string) => `.discarded-${name}-`

/**
 * Moves `dir` (inside `serviceDir`) aside as `.discarded-<name>-<uuid>` and removes it in a child
 * `rm -rf` nobody waits for: a restore answers once the new copy is in place, not after the old one's
 * files are unlinked. What a crash leaves behind is removed by the next `recoverSwap`.
 */
export const discardInBackground = async (serviceDir: string, name: string, dir: string): Promise<void> => {
  const aside = path.join(serviceDir, `${discardedPrefix(name)}${randomUUID()}`)
  try {
    await fs.rename(dir, aside)
  } catch {
    await fs.rm(dir, { recursive: true, force: true })
    return
  }
  const fallback = () => void fs.rm(aside, { recursive: true, force: true }).catch(() => undefined)
  const rm = spawn("rm", ["-rf", "--", aside], { stdio: "ignore" })
  rm.once("error", fallback)
  rm.once("exit", (code) => {
    if (code !== 0) fallback()
  })
}

/** Discarded copies of `name` still on disk (a background removal running, or cut short by a crash). */
export const discardedCopies = async (serviceDir: string, name: string): Promise<ReadonlyArray<string>> => {
  const entries = await fs.readdir(serviceDir).catch(() => [])
  return entries.filter((e) => e.startsWith(discardedPrefix(name))).map((e) => path.join(serviceDir, e))
}

/** Finishes or undoes a restore that a crash interrupted (see the module comment); idempotent. */
export const recoverSwap = async (serviceDir: string, name: string): Promise<void> => {
  const live = path.join(serviceDir, name)
  const incoming = path.join(serviceDir, `.incoming-${name}`)
  const outgoing = path.join(serviceDir, `.outgoing-${name}`)
  const [l, i, o] = await Promise.all([lstatOrUndefined(live), lstatOrUndefined(incoming), lstatOrUndefined(outgoing)])
  // Both halves and no live copy: the crash came between the two renames; the incoming copy is complete.
  if (l === undefined && i !== undefined && o !== undefined) await fs.rename(incoming, live)
  else if (i !== undefined) await fs.rm(incoming, { recursive: true, force: true })
  if (o !== undefined) await fs.rm(outgoing, { recursive: true, force: true })
  const creating = path.join(serviceDir, `.creating-${name}`)
  if ((await lstatOrUndefined(creating)) !== undefined) await fs.rm(creating, { recursive: true, force: true })
  for (const d of await discardedCopies(serviceDir, name)) await fs.rm(d, { recursive: true, force: true })
}
