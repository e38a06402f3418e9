/**
 * Stand-ins for `denia-init tar-pipe` that break: they answer the probe like the real helper, then
 * either die in the middle of the first SPLICE (after moving part of it) or answer with a count the
 * daemon never asked for. Written as Node scripts into `dir`; returns the path to pass as the helper.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const script = (mode: "crash" | "bogus") =>
  `#!${process.execPath}
const fs = require("node:fs")
if (process.argv.length < 4) {
  process.stderr.write("usage: denia-init tar-pipe <control-fd>\\n")
  process.exit(2)
}
const sleep = new Int32Array(new SharedArrayBuffer(4))
const readSome = (fd, buf, off, n) => {
  for (;;) {
    try {
      return fs.readSync(fd, buf, off, n, null)
    } catch (e) {
      if (e.code !== "EAGAIN") throw e
      Atomics.wait(sleep, 0, 0, 2)
    }
  }
}
const readFull = (fd, n) => {
  const buf = Buffer.alloc(n)
  let got = 0
  while (got < n) {
    const r = readSome(fd, buf, got, n - got)
    if (r === 0) break
    got += r
  }
  return buf.subarray(0, got)
}
const writeFull = (fd, buf) => {
  let off = 0
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off)
    } catch (e) {
      if (e.code !== "EAGAIN") throw e
      Atomics.wait(sleep, 0, 0, 2)
    }
  }
}
const reply = (n) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(BigInt(n))
  writeFull(3, b)
}
for (;;) {
  const cmd = readFull(3, 9)
  if (cmd.length < 9) process.exit(3)
  const op = String.fromCharCode(cmd[0])
  const n = Number(cmd.readBigUInt64LE(1))
  if (${JSON.stringify(mode)} === "bogus") {
    reply(2 ** 40)
    Atomics.wait(sleep, 0, 0, 10000)
    process.exit(4)
  }
  if (op === "R") {
    const data = readFull(0, n)
    reply(data.length)
    writeFull(3, data)
  } else if (op === "W") {
    writeFull(1, readFull(3, n))
    reply(n)
  } else if (op === "S") {
    writeFull(1, readFull(0, Math.min(n, 4096)))
    process.stderr.write("tar-pipe: crashed in a splice\\n")
    process.exit(9)
  } else if (op === "K") {
    reply(readFull(0, n).length)
  } else {
    reply(0)
    process.exit(0)
  }
}
`

export const fakeTarPipe = (dir: string, mode: "crash" | "bogus"): string => {
  const file = path.join(dir, `fake-tar-pipe-${mode}`)
  fs.writeFileSync(file, script(mode), { mode: 0o755 })
  return file
}
