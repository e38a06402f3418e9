/**
 * CLI tests: an in-process test daemon plus `dist/main.js` run as a child,
 * pointed at it by a config file (as on the daemon's own host), every run
 * bounded in time.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { ADMIN_TOKEN, runCli, startTestDaemon, type TestDaemon } from "../../support/daemon.js"

export interface CliResult {
  readonly code: number | null
  readonly out: string
}

export interface CliFixture {
  readonly d: TestDaemon
  /** Env of a shell on the daemon's host: the CLI finds the daemon through DENIA_CONFIG_FILE. */
  readonly env: Record<string, string>
  readonly cli: (args: ReadonlyArray<string>, stdin?: string, timeoutMs?: number) => Promise<CliResult>
  readonly stop: () => Promise<void>
}

/** Runs the CLI; a run still going after `timeoutMs` is killed and counts as a failure (code null). */
export const runBounded = async (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  stdin?: string,
  timeoutMs = 30_000
): Promise<CliResult> => {
  const run = runCli(args, env, stdin)
  const timer = setTimeout(() => run.child.kill("SIGKILL"), timeoutMs)
  try {
    const exit = await run.exited
    return { code: exit.signal === null ? exit.code : null, out: run.output() }
  } finally {
    clearTimeout(timer)
  }
}

export const startCliFixture = async (): Promise<CliFixture> => {
  const d = await startTestDaemon()
  const dir = path.dirname(d.config.paths.dataDir)
  const configFile = path.join(dir, "cli-config.toml")
  const v = d.config.values
  fs.writeFileSync(
    configFile,
    [
      `admin_token = "${ADMIN_TOKEN}"`,
      `bind_addr = "${v.bindAddr}"`,
      `data_dir = "${v.dataDir}"`,
      `http_port = ${v.httpPort}`,
      `https_port = ${v.httpsPort}`,
      ""
    ].join("\n"),
    { mode: 0o600 }
  )
  const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, "xdg"), DENIA_CONFIG_FILE: configFile }
  return { d, env, cli: (args, stdin, timeoutMs) => runBounded(args, env, stdin, timeoutMs), stop: () => d.stop() }
}

export const jsonOf = <A>(r: CliResult): A => JSON.parse(r.out) as A
