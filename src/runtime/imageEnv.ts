/** Environment defaults real images expect, computed from the image's rootfs (explicit env always wins). */
import * as fsSync from "node:fs"
import * as path from "node:path"
import { readSmallFile } from "./etcFiles.js"

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/** A passwd file beyond this is not read (the home then defaults to `/`). */
export const MAX_PASSWD_BYTES = 1024 * 1024

/** Home directory of `uid` in passwd text (first matching entry), if absolute. */
export const homeOf = (passwd: string, uid: number): string | null => {
  for (const line of passwd.split("\n")) {
    const f = line.split(":")
    if (f.length < 7 || f[2] !== String(uid)) continue
    const home = f[5] ?? ""
    return home.startsWith("/") ? home : null
  }
  return null
}

/** `<rootfs>/etc/passwd` read without following a symlink at `etc` or `passwd`
 * (the rootfs is image content: it must not make the daemon read host files). */
export const readRootfsPasswd = (rootfs: string): string | null => {
  const etc = path.join(rootfs, "etc")
  const st = fsSync.lstatSync(etc, { throwIfNoEntry: false })
  if (st === undefined || !st.isDirectory()) return null
  return readSmallFile(path.join(etc, "passwd"), MAX_PASSWD_BYTES)
}

/** `HOSTNAME`, `HOME` and `PATH` for keys the explicit env does not set. */
export const envDefaults = (
  env: Readonly<Record<string, string>>,
  hostname: string,
  uid: number,
  passwd: string | null
): Record<string, string> => {
  const out: Record<string, string> = {}
  if (env["HOSTNAME"] === undefined) out["HOSTNAME"] = hostname
  if (env["HOME"] === undefined) out["HOME"] = (passwd === null ? null : homeOf(passwd, uid)) ?? "/"
  if (env["PATH"] === undefined) out["PATH"] = DEFAULT_PATH
  return out
}
