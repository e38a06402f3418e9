/** Small helpers the benchmark scripts share. */
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
    srv.on("error", reject)
  })

/** Whether an HTTP GET / on 127.0.0.1:`port` gets any response within a second. */
export const probeTcp = (port: number): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume()
      resolve(true)
    })
    req.on("error", () => resolve(false))
    req.setTimeout(1000, () => {
      req.destroy()
      resolve(false)
    })
  })

/** Jiffies of all CPUs so far, from /proc/stat: all of them, the busy ones and those the hypervisor took (steal). */
export const cpuJiffies = async (): Promise<{ total: number; busy: number; steal: number }> => {
  const line = (await fs.promises.readFile("/proc/stat", "utf8")).split("\n")[0] ?? ""
  const fields = line.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((a, b) => a + b, 0)
  // idle is the 4th field; iowait (the 5th) counts as busy: a disk still writing back is not quiet
  return { total, busy: total - (fields[3] ?? 0), steal: fields[7] ?? 0 }
}

/** Milliseconds the host's whole disks spent doing I/O so far, from /proc/diskstats (partitions left out). */
const diskBusyMs = async (): Promise<number> => {
  const text = await fs.promises.readFile("/proc/diskstats", "utf8").catch(() => "")
  let ms = 0
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/)
    if (/^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+)$/.test(f[2] ?? "")) ms += Number(f[12] ?? 0)
  }
  return ms
}

/**
 * Waits until the host is quiet — two 200 ms windows in a row with the CPUs at most `maxBusy` busy or
 * waiting for the disk, and the disks at most `maxBusy` of the window doing I/O — or `timeoutMs` passed;
 * returns whether it got quiet. A timed run that starts while the previous one's aftermath (a build, its
 * writeback, a replica stopping) still uses a core or the disk measures that aftermath too.
 */
export const quiesce = async (maxBusy = 0.1, timeoutMs = 15_000): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  const windowMs = 200
  let quiet = 0
  let before = await cpuJiffies()
  let diskBefore = await diskBusyMs()
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, windowMs))
    const now = await cpuJiffies()
    const disk = await diskBusyMs()
    const total = now.total - before.total
    const cpuQuiet = total > 0 && (now.busy - before.busy) / total <= maxBusy
    quiet = cpuQuiet && (disk - diskBefore) / windowMs <= maxBusy ? quiet + 1 : 0
    before = now
    diskBefore = disk
    if (quiet >= 2) return true
  }
  return false
}
