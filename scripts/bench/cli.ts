/**
 * bench:cli — wall time from spawn to exit of `denia --version` and of a
 * client command (`denia projects list --json` against an in-process test
 * daemon), median of 15 each, against the anchor `node -e 0` (Node's own
 * start). Uses the built CLI (dist/main.js: run `npm run build` first).
 * Writes bench/results/cli.json.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import { ADMIN_TOKEN, cliEntry, startTestDaemon } from "../../test/support/daemon.js"

const RUNS = 15
const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 0 ? ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 : (s[m] ?? 0)
}
const round = (n: number) => Math.round(n * 100) / 100

const timeRun = (args: ReadonlyArray<string>): Promise<number> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] })
    child.once("error", reject)
    child.once(
      "exit",
      (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${args.join(" ")} exited ${code}`)))
    )
  })

const sample = async (args: ReadonlyArray<string>) => {
  await timeRun(args) // warm the file cache
  const xs: Array<number> = []
  for (let i = 0; i < RUNS; i++) xs.push(await timeRun(args))
  return median(xs)
}

const main = async () => {
  if (!fs.existsSync(cliEntry)) throw new Error("run `npm run build` first (bench:cli runs dist/main.js)")
  const d = await startTestDaemon({ log_level: "error" })
  try {
    const anchor = await sample(["-e", "0"])
    const version = await sample([cliEntry, "--version"])
    const client = await sample([cliEntry, "projects", "list", "--json", "--url", d.url, "--token", ADMIN_TOKEN])
    const metric = (name: string, denia: number) => ({
      name,
      unit: "ms",
      denia: round(denia),
      anchor: round(anchor),
      anchorName: "node -e 0",
      ratio: round(denia / anchor)
    })
    const result = {
      area: "cli",
      machine: `${os.cpus().length} cores, node ${process.version}, load ${os.loadavg()[0]?.toFixed(2)}`,
      metrics: [metric("version", version), metric("projects-list", client)]
    }
    fs.mkdirSync("bench/results", { recursive: true })
    fs.writeFileSync("bench/results/cli.json", `${JSON.stringify(result, null, 2)}\n`)
    for (const m of result.metrics) {
      console.log(
        `${m.name.padEnd(14)} denia ${String(m.denia).padStart(8)} ${m.unit}   anchor ${
          String(m.anchor).padStart(8)
        } ${m.unit}   ratio ${m.ratio}   (${m.anchorName})`
      )
    }
    console.log("wrote bench/results/cli.json (goal: both <= 300 ms)")
  } finally {
    await d.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
