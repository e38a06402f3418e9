/**
 * Test images built from real Debian packages, the way official images are built:
 * `mmdebstrap --variant=minbase --include=<packages> bookworm` gives a root tarball (cached under the
 * test cache dir, keyed by its package list, so a CI run builds each root once), and `buildah build`
 * turns `FROM scratch` + `ADD root.tar /` + the test's Containerfile lines into an image that is
 * pushed to a registry (normally Denia's hosted one) or written as an OCI layout (for podman anchors).
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

/** Where built roots and buildah's storage live (override with DENIA_TEST_CACHE). */
export const testCacheDir = (): string => process.env.DENIA_TEST_CACHE ?? path.join(os.tmpdir(), "denia-test-cache")

const storageArgs = (): Array<string> => {
  const base = path.join(testCacheDir(), "buildah")
  return ["--root", path.join(base, "root"), "--runroot", path.join(base, "run"), "--storage-driver", "overlay"]
}

const run = (cmd: string, args: ReadonlyArray<string>, opts: { cwd?: string } = {}): Promise<string> =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-8000)))
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${err || out.slice(-4000)}`)))
  })

const exists = (p: string) => fs.access(p).then(() => true, () => false)

/** Serialises builders of the same key across processes (mkdir is atomic); stale after 10 minutes. */
const withLock = async <A>(lockDir: string, body: () => Promise<A>): Promise<A> => {
  for (let i = 0; i < 1200; i++) {
    try {
      await fs.mkdir(lockDir)
      try {
        return await body()
      } finally {
        await fs.rm(lockDir, { recursive: true, force: true })
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e
      const st = await fs.stat(lockDir).catch(() => undefined)
      if (st !== undefined && Date.now() - st.mtimeMs > 600_000) await fs.rm(lockDir, { recursive: true, force: true })
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  throw new Error(`timed out waiting for ${lockDir}`)
}

/** A Debian bookworm minbase root with `packages`, as a tarball (built once per package list). */
export const debianRoot = async (packages: ReadonlyArray<string>): Promise<string> => {
  const list = [...new Set(packages)].sort()
  const key = createHash("sha256").update(list.join(",")).digest("hex").slice(0, 16)
  const dir = testCacheDir()
  await fs.mkdir(dir, { recursive: true })
  const tar = path.join(dir, `debian-${key}.tar`)
  if (await exists(tar)) return tar
  return withLock(`${tar}.lock`, async () => {
    if (await exists(tar)) return tar
    const partial = path.join(dir, `debian-${key}.partial-${process.pid}.tar`)
    const include = list.length > 0 ? [`--include=${list.join(",")}`] : []
    await run("mmdebstrap", ["--quiet", "--variant=minbase", ...include, "bookworm", partial])
    await fs.rename(partial, tar)
    return tar
  })
}

export interface DebianImageSpec {
  /** Debian packages in the root (mmdebstrap `--include`). */
  readonly packages: ReadonlyArray<string>
  /** Containerfile lines after `FROM scratch` / `ADD root.tar /` (RUN runs with chroot isolation). */
  readonly containerfile: ReadonlyArray<string>
  /** Extra files in the build context (relative path → content), for COPY lines. */
  readonly files?: Readonly<Record<string, string | { readonly content: string; readonly mode: number }>>
}

/** Builds the image into the shared buildah storage; returns its local name. Cached by content. */
export const buildDebianImage = async (spec: DebianImageSpec): Promise<string> => {
  const root = await debianRoot(spec.packages)
  const containerfile = ["FROM scratch", "ADD root.tar /", ...spec.containerfile].join("\n") + "\n"
  const key = createHash("sha256")
    .update(root)
    .update(containerfile)
    .update(JSON.stringify(Object.entries(spec.files ?? {}).sort()))
    .digest("hex")
    .slice(0, 16)
  const name = `localhost/denia-test-debian:${key}`
  const context = await fs.mkdtemp(path.join(testCacheDir(), "ctx-"))
  try {
    await fs.link(root, path.join(context, "root.tar")).catch(() => fs.copyFile(root, path.join(context, "root.tar")))
    await fs.writeFile(path.join(context, "Containerfile"), containerfile)
    for (const [rel, file] of Object.entries(spec.files ?? {})) {
      const target = path.join(context, rel)
      await fs.mkdir(path.dirname(target), { recursive: true })
      if (typeof file === "string") await fs.writeFile(target, file)
      else await fs.writeFile(target, file.content, { mode: file.mode })
    }
    await withLock(path.join(testCacheDir(), `image-${key}.lock`), () =>
      run("buildah", [
        ...storageArgs(),
        "build",
        "--quiet",
        "--isolation",
        "chroot",
        "--layers",
        "-f",
        "Containerfile",
        "-t",
        name,
        "."
      ], { cwd: context }))
  } finally {
    await fs.rm(context, { recursive: true, force: true })
  }
  return name
}

/** Pushes a locally built image to `docker://<registry>/<repository>:<tag>` (plain HTTP). */
export const pushImage = (
  image: string,
  registry: string,
  repository: string,
  tag: string,
  credentials: { readonly username: string; readonly password: string }
): Promise<string> =>
  run("buildah", [
    ...storageArgs(),
    "push",
    "--quiet",
    "--tls-verify=false",
    "--creds",
    `${credentials.username}:${credentials.password}`,
    image,
    `docker://${registry}/${repository}:${tag}`
  ])

/** Writes a locally built image as an OCI layout `dir:tag` (for anchors such as podman). */
export const exportOciLayout = (image: string, dir: string, tag: string): Promise<string> =>
  run("buildah", [...storageArgs(), "push", "--quiet", image, `oci:${dir}:${tag}`])

/** Build + push in one step: the usual test entry point. */
export const buildAndPushDebianImage = async (
  spec: DebianImageSpec,
  target: {
    readonly registry: string
    readonly repository: string
    readonly tag: string
    readonly credentials: { readonly username: string; readonly password: string }
  }
): Promise<void> => {
  const image = await buildDebianImage(spec)
  await pushImage(image, target.registry, target.repository, target.tag, target.credentials)
}
