import { Schema } from "effect"
import { constants as C } from "node:fs"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { IdOutOfRange, InvalidImageConfig, UnknownImageUser } from "./errors.js"
import type { ImageConfig } from "./manifest.js"
import { OciFailure } from "./transport.js"

export const ExposedPort = Schema.Struct({
  port: Schema.Number,
  protocol: Schema.Literal("tcp", "udp", "sctp")
})

/** What a replica needs to start the image; stored as `<bundle>/manifest.json`. */
export class ProcessManifest extends Schema.Class<ProcessManifest>("ProcessManifest")({
  schemaVersion: Schema.Literal(1),
  reference: Schema.String,
  manifestDigest: Schema.String,
  configDigest: Schema.String,
  layers: Schema.Array(Schema.String),
  platform: Schema.String,
  args: Schema.Array(Schema.String),
  env: Schema.Array(Schema.String),
  workingDir: Schema.String,
  user: Schema.Struct({
    /** USER as written in the image ("" = root). */
    spec: Schema.String,
    /** Ids inside the container (0 ≤ id < userns_size). */
    uid: Schema.Number,
    gid: Schema.Number,
    additionalGids: Schema.Array(Schema.Number)
  }),
  exposedPorts: Schema.Array(ExposedPort),
  labels: Schema.Record({ key: Schema.String, value: Schema.String }),
  stopSignal: Schema.optional(Schema.String),
  /** The image config's `Volumes` paths (absent in bundles unpacked before they were recorded). */
  volumes: Schema.optional(Schema.Array(Schema.String)),
  /** `image`: the rootfs keeps the image's own owners (made from a build's layer trees, mounted idmapped;
   * ADR 0822). Absent: its owners are shifted into the user-namespace range. */
  rootfsOwners: Schema.optional(Schema.Literal("image")),
  createdAt: Schema.String
}) {}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/**
 * Reads a file inside the rootfs, resolving symlinks against the rootfs root
 * (never the host's), with a hop limit. Missing → undefined.
 */
export const readInRoot = async (rootfs: string, file: string, maxBytes = 4 * 1024 * 1024): Promise<string | undefined> => {
  let rel = file.split("/").filter((p) => p !== "" && p !== ".")
  for (let hops = 0; hops < 40; hops++) {
    let resolved: Array<string> = []
    let restarted = false
    for (let i = 0; i < rel.length; i++) {
      const part = rel[i] ?? ""
      if (part === "..") {
        resolved.pop()
        continue
      }
      const candidate = [...resolved, part]
      const st = await fs.lstat(path.join(rootfs, ...candidate)).catch(() => undefined)
      if (st === undefined) return undefined
      if (st.isSymbolicLink()) {
        const target = await fs.readlink(path.join(rootfs, ...candidate))
        const rest = rel.slice(i + 1)
        const targetParts = target.split("/").filter((p) => p !== "" && p !== ".")
        rel = target.startsWith("/") ? [...targetParts, ...rest] : [...resolved, ...targetParts, ...rest]
        restarted = true
        break
      }
      resolved = candidate
    }
    if (restarted) continue
    let fh: fs.FileHandle
    try {
      fh = await fs.open(path.join(rootfs, ...resolved), C.O_RDONLY | C.O_NOFOLLOW)
    } catch {
      return undefined
    }
    try {
      const st = await fh.stat()
      if (!st.isFile() || st.size > maxBytes) return undefined
      return await fh.readFile("utf8")
    } finally {
      await fh.close()
    }
  }
  return undefined
}

interface PasswdEntry {
  readonly name: string
  readonly uid: number
  readonly gid: number
}
interface GroupEntry {
  readonly name: string
  readonly gid: number
  readonly members: ReadonlyArray<string>
}

const parsePasswd = (text: string | undefined): Array<PasswdEntry> =>
  (text ?? "").split("\n").flatMap((line) => {
    const f = line.split(":")
    if (f.length < 4 || line.startsWith("#")) return []
    const uid = Number(f[2])
    const gid = Number(f[3])
    return Number.isInteger(uid) && Number.isInteger(gid) && f[0] ? [{ name: f[0], uid, gid }] : []
  })

const parseGroup = (text: string | undefined): Array<GroupEntry> =>
  (text ?? "").split("\n").flatMap((line) => {
    const f = line.split(":")
    if (f.length < 3 || line.startsWith("#")) return []
    const gid = Number(f[2])
    return Number.isInteger(gid) && f[0]
      ? [{ name: f[0], gid, members: (f[3] ?? "").split(",").map((m) => m.trim()).filter((m) => m !== "") }]
      : []
  })

const numeric = (s: string) => (/^[0-9]+$/.test(s) ? Number(s) : undefined)

/** Resolves USER (`uid`, `name`, `uid:gid`, `name:group`) against the image's /etc/passwd and /etc/group. */
export const resolveUser = async (
  rootfs: string,
  spec: string,
  usernsSize: number
): Promise<{ uid: number; gid: number; additionalGids: Array<number> }> => {
  const trimmed = spec.trim()
  let out: { uid: number; gid: number; additionalGids: Array<number> }
  if (trimmed === "") {
    out = { uid: 0, gid: 0, additionalGids: [] }
  } else {
    const colon = trimmed.indexOf(":")
    const userPart = colon >= 0 ? trimmed.slice(0, colon) : trimmed
    const groupPart = colon >= 0 ? trimmed.slice(colon + 1) : undefined
    const passwd = parsePasswd(await readInRoot(rootfs, "/etc/passwd"))
    const groups = parseGroup(await readInRoot(rootfs, "/etc/group"))
    const n = numeric(userPart)
    const entry = n !== undefined ? passwd.find((p) => p.uid === n) : passwd.find((p) => p.name === userPart)
    if (n === undefined && entry === undefined) {
      throw new OciFailure(new UnknownImageUser({ user: spec, reason: `user '${userPart}' not found in the image's /etc/passwd` }))
    }
    const uid = n ?? entry?.uid ?? 0
    let gid = entry?.gid ?? 0
    let additionalGids: Array<number> = []
    if (groupPart !== undefined && groupPart !== "") {
      const g = numeric(groupPart)
      if (g !== undefined) gid = g
      else {
        const ge = groups.find((x) => x.name === groupPart)
        if (ge === undefined) {
          throw new OciFailure(
            new UnknownImageUser({ user: spec, reason: `group '${groupPart}' not found in the image's /etc/group` })
          )
        }
        gid = ge.gid
      }
    } else if (entry !== undefined) {
      additionalGids = groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)
    }
    out = { uid, gid, additionalGids }
  }
  for (
    const [subject, id] of [
      [`uid of USER '${spec}'`, out.uid],
      [`gid of USER '${spec}'`, out.gid],
      ...out.additionalGids.map((g): [string, number] => [`supplementary gid of USER '${spec}'`, g])
    ] as const
  ) {
    if (id >= usernsSize) throw new OciFailure(new IdOutOfRange({ subject, id, limit: usernsSize }))
  }
  return out
}

const parsePorts = (ports: Readonly<Record<string, unknown>> | null | undefined, digest: string) =>
  Object.keys(ports ?? {}).map((key) => {
    const m = /^([0-9]{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key.trim())
    const port = m ? Number(m[1]) : NaN
    if (!m || port < 1 || port > 65535) {
      throw new OciFailure(new InvalidImageConfig({ digest, reason: `bad ExposedPorts key '${key}'` }))
    }
    const proto = (m[2] ?? "tcp").toLowerCase()
    return { port, protocol: proto === "udp" ? ("udp" as const) : proto === "sctp" ? ("sctp" as const) : ("tcp" as const) }
  })

export interface ManifestInputs {
  readonly reference: string
  readonly manifestDigest: string
  readonly configDigest: string
  readonly layers: ReadonlyArray<string>
  readonly platform: string
  readonly config: ImageConfig
  readonly rootfs: string
  readonly usernsSize: number
  readonly now: Date
}

/** Builds the process manifest from the image config and the unpacked rootfs. */
export const buildProcessManifest = async (i: ManifestInputs): Promise<ProcessManifest> => {
  const c = i.config.config ?? {}
  const env = [...(c.Env ?? [])]
  if (!env.some((e) => e.startsWith("PATH="))) env.push(`PATH=${DEFAULT_PATH}`)
  const spec = c.User ?? ""
  const user = await resolveUser(i.rootfs, spec, i.usernsSize)
  const workingDir = c.WorkingDir && c.WorkingDir !== "" ? c.WorkingDir : "/"
  if (!workingDir.startsWith("/")) {
    throw new OciFailure(new InvalidImageConfig({ digest: i.configDigest, reason: `WorkingDir '${workingDir}' is not absolute` }))
  }
  return new ProcessManifest({
    schemaVersion: 1,
    reference: i.reference,
    manifestDigest: i.manifestDigest,
    configDigest: i.configDigest,
    layers: [...i.layers],
    platform: i.platform,
    args: [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])],
    env,
    workingDir,
    user: { spec, ...user },
    exposedPorts: parsePorts(c.ExposedPorts, i.configDigest),
    labels: { ...(c.Labels ?? {}) },
    ...(c.StopSignal !== undefined ? { stopSignal: c.StopSignal } : {}),
    volumes: Object.keys(c.Volumes ?? {}),
    createdAt: i.now.toISOString()
  })
}
