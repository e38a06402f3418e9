import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { startCliFixture } from "../../test/integration/cli/support.js"
import { ADMIN_TOKEN } from "../../test/support/daemon.js"
import { pushPythonBase } from "../../test/support/uploads.js"
import { quiesce } from "./support.js"

const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<number>((resolve, reject) => {
    const s = performance.now()
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    c.stdout.resume(); let err = ""; c.stderr.on("data", (d) => (err += d)); c.on("exit", () => { const m = err.match(/(User time|System time|Elapsed|Percent of CPU|File system outputs|Voluntary context|Involuntary).*\n/g); if (m) console.log(m.join("")) })
    c.on("exit", (code) => code === 0 ? resolve(Math.round(performance.now() - s)) : reject(new Error(`${cmd} ${code}`)))
  })

const main = async () => {
  const f = await startCliFixture()
  const root = fs.mkdtempSync("/tmp/probe/b-")
  try {
    const address = f.d.config.values.bindAddr
    const b = await f.cli(["services", "create", "base", "--source", "hosted", "--tag", "py"])
    if (b.code !== 0) throw new Error(b.out)
    await pushPythonBase(f.d)
    const conf = path.join(root, "registries.conf")
    fs.writeFileSync(conf, `[[registry]]\nlocation = "${address}"\ninsecure = true\n`)
    for (let i = 0; i < 1; i++) {
      await run("sync", []); await quiesce()
      const st = ["--root", path.join(root, `r${i}`), "--runroot", path.join(root, `run${i}`), "--storage-driver", "overlay"]
      console.log("buildah pull", await run("/usr/bin/time", ["-v", "buildah", ...st, "pull", "--creds", `admin:${ADMIN_TOKEN}`, `${address}/default/base:py`], { CONTAINERS_REGISTRIES_CONF: conf }))
      await run("sync", []); await quiesce()
      console.log("skopeo copy to dir", await run("skopeo", ["copy", "--src-tls-verify=false", "--src-creds", `admin:${ADMIN_TOKEN}`, `docker://${address}/default/base:py`, `dir:${path.join(root, `d${i}`)}`]))
    }
    console.log(execSyncOut(`ls -la ${path.join(root, "d0")}`))
  } finally {
    await f.stop()
    await run("sh", ["-c", `grep -o ' ${root}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l || true`])
    fs.rmSync(root, { recursive: true, force: true })
  }
}
import { execSync } from "node:child_process"
const execSyncOut = (c: string) => execSync(c, { encoding: "utf8" })
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
