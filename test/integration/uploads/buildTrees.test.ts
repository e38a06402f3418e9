/**
 * A built image deployed from the build's own layer trees (ADR 0822), on the real runtime and buildah:
 * no prewarm runs beside the build, the bundle's files are hard links to the trees in the project's
 * build storage with the image's own owners, the replica sees them through an idmapped mount (root's
 * files owned by its root, writable by copy-up), a whiteout of a later layer hides the base's file, and
 * a volume copied up from such a bundle is owned by the namespace's range on disk.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { TestDaemon } from "../../support/daemon.js"
import { getViaSocket, replicaSockets, waitForDeployment } from "../../support/deployments.js"
import { zstded } from "../../support/tarballs.js"
import { contextOf, postBytes, startBuildFixture } from "../../support/uploads.js"

const privileged = process.getuid?.() === 0
if (!privileged) console.warn("build tree tests skipped: they need root (buildah, namespaces, idmapped mounts)")

/** The app answers with what it sees of its own root: owners, a whiteout, and whether root may write. */
const appFiles = (address: string) => ({
  Dockerfile: [
    `FROM ${address}/default/base:py`,
    "RUN mkdir -p /srv/data && echo seeded > /srv/data/seed && chmod 0644 /srv/data/seed && rm /etc/debian_version",
    "COPY app.py /app/app.py",
    "CMD python3 /app/app.py",
    ""
  ].join("\n"),
  "app.py": [
    "import http.server, os",
    "class H(http.server.BaseHTTPRequestHandler):",
    "    def do_GET(self):",
    "        st = os.stat('/etc/passwd')",
    "        try:",
    "            with open('/srv/data/seed', 'a') as f: f.write('more\\n')",
    "            wrote = 'wrote'",
    "        except OSError as e:",
    "            wrote = 'refused %d' % e.errno",
    "        body = '%d:%d %s %s\\n' % (st.st_uid, st.st_gid, os.path.exists('/etc/debian_version'), wrote)",
    "        self.send_response(200); self.end_headers(); self.wfile.write(body.encode())",
    "    def log_message(self, *a): pass",
    "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()",
    ""
  ].join("\n")
})

describe.runIf(privileged)("builds deployed from their layer trees (privileged)", () => {
  let d: TestDaemon
  let appId: string

  beforeAll(async () => {
    ;({ d, appId } = await startBuildFixture({}))
  }, 600_000)
  afterAll(async () => {
    await d?.stop()
  })

  const deploy = async () => {
    const r = await postBytes(d, `/v1/services/${appId}/uploads?deploy=true`, zstded(await contextOf(appFiles(d.config.values.bindAddr))))
    expect(r.status, r.body).toBe(201)
    const id = (JSON.parse(r.body) as { deployment: { id: string } }).deployment.id
    const dep = await waitForDeployment(d, id, 300_000)
    expect(dep, JSON.stringify(dep)).toMatchObject({ status: "healthy" })
    return { dep, log: fs.readFileSync(path.join(d.dataDir, "logs", "deployments", `${id}.log`), "utf8") }
  }

  const servedBodies = async () => {
    const service = (await (await d.request(`/v1/services/${appId}`)).json()) as { promotedDeploymentId: string }
    return Promise.all(replicaSockets(d.dataDir, service.promotedDeploymentId).map((s) => getViaSocket(s).then((r) => r.body.trim())))
  }

  it("makes the bundle from the build's trees by hard links, keeps the image's owners and mounts it idmapped", async () => {
    const { dep, log } = await deploy()
    expect(log).toMatch(/build storage: bundle made from the build's \d+ layer tree\(s\)/)
    expect(log).not.toContain("prewarm:")
    const digest = (dep as { imageDigest: string }).imageDigest
    const bundle = path.join(d.dataDir, "artifacts", digest.replace(/^sha256:/, ""))
    const manifest = JSON.parse(fs.readFileSync(path.join(bundle, "manifest.json"), "utf8")) as { rootfsOwners?: string }
    expect(manifest.rootfsOwners).toBe("image")
    // the base's files are the build storage's own inodes, owned as in the image (not shifted)
    const passwd = fs.lstatSync(path.join(bundle, "rootfs", "etc", "passwd"))
    expect(passwd.uid).toBe(0)
    expect(passwd.nlink).toBeGreaterThanOrEqual(2)
    expect(fs.existsSync(path.join(bundle, "rootfs", "etc", "debian_version"))).toBe(false)
    // inside, root's files belong to the namespace's root, the whiteout hides the base's file, and the
    // workload's root may write a root-owned file (copy-up into the replica's upper dir)
    expect(await servedBodies()).toEqual(["0:0 False wrote"])
    // the copy-up is shifted on disk; the bundle's file (and with it the build storage's) is untouched
    expect(fs.readFileSync(path.join(bundle, "rootfs", "srv", "data", "seed"), "utf8")).toBe("seeded\n")
    const uppers = fs.readdirSync(path.join(d.dataDir, "runtime"), { recursive: true, encoding: "utf8" })
      .filter((p) => p.endsWith(path.join("upper", "srv", "data", "seed")))
    expect(uppers.length).toBe(1)
    const upper = fs.lstatSync(path.join(d.dataDir, "runtime", uppers[0] ?? ""))
    expect(upper.uid).toBe(d.config.values.usernsBase)
  }, 600_000)

  it("copies a volume up from such a bundle with owners shifted into the namespace's range", async () => {
    const patch = await d.request(`/v1/services/${appId}`, {
      method: "PATCH",
      json: { volumes: [{ name: "data", mountPath: "/srv/data" }] }
    })
    expect(patch.status, await patch.text()).toBe(200)
    const { log } = await deploy()
    expect(log).toContain("volume data created")
    const project = ((await (await d.request(`/v1/services/${appId}`)).json()) as { projectId: string }).projectId
    const seed = fs.lstatSync(path.join(d.dataDir, "volumes", project, "app", "data", "seed"))
    expect(seed.uid).toBe(d.config.values.usernsBase)
    expect(await servedBodies()).toEqual(["0:0 False wrote"])
  }, 600_000)
})
