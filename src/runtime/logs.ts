/** Service logs: `<dataDir>/logs/services/<service>.log`, shared by the
 * service's replicas, rotated to `<service>.log.1` when it would pass the
 * size cap. Writes are synchronous appends of whole lines so replicas never
 * interleave mid-line. */
import * as fs from "node:fs"
import * as path from "node:path"

export class ServiceLogFile {
  private fd: number | null = null
  private size = 0

  constructor(
    readonly path: string,
    private readonly maxBytes: number
  ) {}

  private open(): number {
    if (this.fd !== null) return this.fd
    fs.mkdirSync(path.dirname(this.path), { recursive: true, mode: 0o750 })
    const fd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o640)
    this.size = fs.fstatSync(fd).size
    this.fd = fd
    return fd
  }

  private rotate(): void {
    this.close()
    try {
      fs.renameSync(this.path, `${this.path}.1`)
    } catch {
      // nothing to rotate
    }
  }

  write(text: string): void {
    const buf = Buffer.from(text)
    try {
      if (this.fd === null) this.open()
      if (this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate()
      const fd = this.open()
      fs.writeSync(fd, buf)
      this.size += buf.length
    } catch {
      // a full or vanished disk must not take the replica down; drop the line
      this.close()
    }
  }

  close(): void {
    if (this.fd === null) return
    try {
      fs.closeSync(this.fd)
    } catch {
      // already closed
    }
    this.fd = null
  }
}

/** Splits a byte stream into lines and writes each with a prefix. */
export class LineSink {
  private pending = ""
  /** The last non-blank line written (for exit reports), cut to 300 characters. */
  lastLine: string | undefined = undefined

  constructor(
    private readonly file: ServiceLogFile,
    private readonly prefix: string,
    private readonly maxLine = 16 * 1024
  ) {}

  push(chunk: Buffer): void {
    this.pending += chunk.toString("utf8")
    let nl = this.pending.indexOf("\n")
    while (nl >= 0) {
      this.emit(this.pending.slice(0, nl))
      this.pending = this.pending.slice(nl + 1)
      nl = this.pending.indexOf("\n")
    }
    if (this.pending.length > this.maxLine) {
      this.emit(this.pending)
      this.pending = ""
    }
  }

  flush(): void {
    if (this.pending !== "") this.emit(this.pending)
    this.pending = ""
  }

  private emit(line: string): void {
    const trimmed = line.trim()
    if (trimmed !== "") this.lastLine = trimmed.length > 300 ? `${trimmed.slice(0, 300)}…` : trimmed
    this.file.write(`${new Date().toISOString()} ${this.prefix} ${line}\n`)
  }
}

/** Reference-counted log files, one per service. */
export class LogRegistry {
  private readonly files = new Map<string, { file: ServiceLogFile; refs: number }>()

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number
  ) {}

  pathOf(service: string): string {
    return path.join(this.dir, `${service}.log`)
  }

  acquire(service: string): ServiceLogFile {
    const cur = this.files.get(service)
    if (cur !== undefined) {
      cur.refs++
      return cur.file
    }
    const file = new ServiceLogFile(this.pathOf(service), this.maxBytes)
    this.files.set(service, { file, refs: 1 })
    return file
  }

  release(service: string): void {
    const cur = this.files.get(service)
    if (cur === undefined) return
    cur.refs--
    if (cur.refs <= 0) {
      cur.file.close()
      this.files.delete(service)
    }
  }

  /** Last `n` lines across the rotated and the current file. */
  tail(service: string, n: number): ReadonlyArray<string> {
    const read = (p: string): Array<string> => {
      try {
        return fs.readFileSync(p, "utf8").split("\n").filter((l) => l !== "")
      } catch {
        return []
      }
    }
    const current = read(this.pathOf(service))
    if (current.length >= n) return current.slice(current.length - n)
    const older = read(`${this.pathOf(service)}.1`)
    const all = [...older, ...current]
    return all.slice(Math.max(0, all.length - n))
  }
}
