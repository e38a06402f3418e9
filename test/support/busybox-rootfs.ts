/**
 * Shared test helper: build a minimal rootfs from Debian's `busybox-static`
 * (`/bin/busybox`, a static binary, so it runs in an otherwise empty root).
 *
 *   const rootfs = await buildBusyboxRootfs(dir, { owner: 100000 })
 *
 * Layout: /bin/busybox + one symlink per applet, /etc/{passwd,group,hosts},
 * /www/index.html, /tmp (1777), /root, /var; extra files via `files`.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"]

/** True when the ELF file has no PT_INTERP program header (statically linked). */
export const isStaticElf = (file: string): boolean => {
  const buf = fs.readFileSync(file)
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return false
  const phoff = Number(buf.readBigUInt64LE(0x20))
  const phentsize = buf.readUInt16LE(0x36)
  const phnum = buf.readUInt16LE(0x38)
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize
    if (off + 4 > buf.length) return false
    if (buf.readUInt32LE(off) === 3) return false // PT_INTERP
  }
  return true
}

/** Path of a static busybox, or null (install the `busybox-static` package). */
export const findStaticBusybox = (): string | null => {
  for (const c of CANDIDATES) {
    try {
      if (fs.statSync(c).isFile() && isStaticElf(c)) return c
    } catch {
      // try the next one
    }
  }
  return null
}

export interface BusyboxRootfsOptions {
  /** Host uid/gid to own the tree (e.g. the runtime's usernsBase, as an
   * id-shifting unpack would). Default: leave as created (root). */
  readonly owner?: number
  /** Extra files: path inside the rootfs → content. */
  readonly files?: Readonly<Record<string, string>>
  /** Extra symlinks: path inside the rootfs → link target. */
  readonly symlinks?: Readonly<Record<string, string>>
}

const chownTree = (p: string, id: number): void => {
  fs.lchownSync(p, id, id)
  const st = fs.lstatSync(p)
  if (st.isDirectory() && !st.isSymbolicLink()) {
    for (const e of fs.readdirSync(p)) chownTree(path.join(p, e), id)
  }
}

/** Build the rootfs at `dir` (created if missing) and return `dir`. */
export const buildBusyboxRootfs = async (dir: string, options: BusyboxRootfsOptions = {}): Promise<string> => {
  const busybox = findStaticBusybox()
  if (busybox === null) throw new Error("static busybox not found: apt-get install busybox-static")
  for (const d of ["bin", "etc", "www", "root", "var", "tmp", "home"]) fs.mkdirSync(path.join(dir, d), { recursive: true })
  fs.chmodSync(path.join(dir, "tmp"), 0o1777)
  fs.copyFileSync(busybox, path.join(dir, "bin", "busybox"))
  fs.chmodSync(path.join(dir, "bin", "busybox"), 0o755)
  const applets = execFileSync(busybox, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== "busybox")
  for (const a of applets) {
    const link = path.join(dir, "bin", a)
    if (!fs.existsSync(link)) fs.symlinkSync("busybox", link)
  }
  const files: Record<string, string> = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\napp:x:1000:1000:app:/home:/bin/sh\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\napp:x:1000:\n",
    "etc/hosts": "127.0.0.1 localhost\n",
    "www/index.html": "hello from busybox\n",
    ...options.files
  }
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel)
    fs.mkdirSync(path.dirname(p), { recursive: true })
    fs.writeFileSync(p, content)
  }
  for (const [rel, target] of Object.entries(options.symlinks ?? {})) {
    const p = path.join(dir, rel)
    fs.mkdirSync(path.dirname(p), { recursive: true })
    fs.symlinkSync(target, p)
  }
  if (options.owner !== undefined) chownTree(dir, options.owner)
  return dir
}
