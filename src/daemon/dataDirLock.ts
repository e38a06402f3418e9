/**
 * One daemon per data dir: an exclusive `flock(2)` on `<data_dir>/denia.lock`
 * held for the daemon's lifetime (ADR 0012). Node has no flock binding, so
 * `flock(1)` (util-linux) locks the daemon's own open file description,
 * passed to it as fd 3, and exits; the lock then lives exactly as long as the
 * daemon's descriptor — the kernel drops it when the daemon ends, SIGKILL
 * included. The descriptor is close-on-exec, so replicas never inherit it.
 */
import { Effect, Schema, type Scope } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

export const LOCK_FILE = "denia.lock"
/** `flock --conflict-exit-code`: the lock is held elsewhere. */
const BUSY = 75

/** Another daemon holds the data dir. `line` is what the CLI prints. */
export class DataDirBusy extends Schema.TaggedError<DataDirBusy>()("DataDirBusy", {
  dataDir: Schema.String,
  pid: Schema.NullOr(Schema.Number),
  message: Schema.String,
  line: Schema.String
}) {}

/** The data dir lock cannot be taken for another reason (permissions, flock missing). */
export class DataDirLockFailed extends Schema.TaggedError<DataDirLockFailed>()("DataDirLockFailed", {
  path: Schema.String,
  message: Schema.String
}) {}

export const CLIENT_HINT = "run 'denia --help' for the client commands"

/** The refusal a second daemon prints; in a terminal, plus a pointer to the client commands. */
export const busyLine = (dataDir: string, pid: number | null, interactive: boolean): string =>
  `denia: another daemon${pid === null ? "" : ` (pid ${pid})`} is using ${dataDir}${interactive ? `\n${CLIENT_HINT}` : ""}`

const readPid = (file: string): number | null => {
  try {
    const n = Number.parseInt(fs.readFileSync(file, "utf8").trim(), 10)
    return Number.isInteger(n) && n > 0 ? n : null
  } catch {
    return null
  }
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Try once, without waiting: the fd on success, or who holds the lock. */
const tryLock = (dataDir: string): Effect.Effect<number, DataDirBusy | DataDirLockFailed> =>
  Effect.gen(function*() {
    const file = path.join(dataDir, LOCK_FILE)
    const fd = yield* Effect.try({
      try: () => {
        fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
        return fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600)
      },
      catch: (e) => new DataDirLockFailed({ path: file, message: errorText(e) })
    })
    const result = spawnSync("flock", ["--exclusive", "--nonblock", "--conflict-exit-code", String(BUSY), "3"], {
      stdio: ["ignore", "ignore", "pipe", fd],
      timeout: 10_000
    })
    if (result.status === 0) {
      const written = yield* Effect.try({
        try: () => {
          fs.ftruncateSync(fd, 0)
          fs.writeSync(fd, `${process.pid}\n`, 0)
        },
        catch: (e) => new DataDirLockFailed({ path: file, message: errorText(e) })
      }).pipe(Effect.either)
      if (written._tag === "Left") {
        fs.closeSync(fd)
        return yield* written.left
      }
      return fd
    }
    fs.closeSync(fd)
    if (result.status === BUSY) {
      const pid = readPid(file)
      const interactive = process.stdin.isTTY === true || process.stdout.isTTY === true
      return yield* new DataDirBusy({
        dataDir,
        pid,
        message: `another daemon${pid === null ? "" : ` (pid ${pid})`} is using ${dataDir}`,
        line: busyLine(dataDir, pid, interactive)
      })
    }
    const why = result.error !== undefined
      ? `flock(1) could not run (${result.error.message}); install util-linux`
      : (result.stderr?.toString().trim() ?? "") || `flock exited with ${result.status ?? result.signal}`
    return yield* new DataDirLockFailed({ path: file, message: `cannot lock ${file}: ${why}` })
  })

/** Holds the data dir lock for the enclosing scope; closing the descriptor releases it. */
export const holdDataDirLock = (dataDir: string): Effect.Effect<void, DataDirBusy | DataDirLockFailed, Scope.Scope> =>
  Effect.acquireRelease(tryLock(dataDir), (fd) =>
    Effect.sync(() => {
      try {
        fs.closeSync(fd)
      } catch {
        // already closed
      }
    })).pipe(Effect.asVoid)
