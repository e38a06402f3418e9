/**
 * Where volumes live: `<data_dir>/volumes/<project id>/<service name>/<volume>/`
 * (the project by id, so a project rename keeps its volumes; the service by
 * name, which never changes, so a service re-created under the same name
 * finds the volumes a delete kept). Every component is validated and created
 * one at a time with lstat checks: nothing below the data dir is reached
 * through a symlink. Beside each volume, `.incoming-<name>` and
 * `.outgoing-<name>` are the two halves of a restore's swap.
 */
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
}
