/**
 * The volumes API on an in-process daemon (no workload runs): validation of
 * `volumes` (400 naming the field), the single-replica rule (409), restore
 * into a stopped service through its own streaming path while the JSON body
 * gate keeps guarding every other route, backup with `X-Denia-Snapshot:
 * stopped` (plain and zstd), hostile archives and caps, remove, and
 * delete with and without `purgeVolumes`.
 */
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import * as tar from "tar-stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { endOnceHelperHolds } from "../../support/childProcesses.js"
import { ADMIN_TOKEN, startTestDaemon, type TestDaemon } from "../../support/daemon.js"

let d: TestDaemon
let projectId = ""
beforeAll(async () => {
  d = await startTestDaemon({}, { volumeLimits: { maxArchiveBytes: 64 * 1024, maxUnpackedBytes: 32 * 1024, maxArchiveEntries: 50 } })
  const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
  projectId = list.items.find((p) => p.name === "default")?.id ?? ""
})
afterAll(() => d.stop())

const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error

const create = (name: string, extra: Record<string, unknown>) =>
  d.request("/v1/services", {
    method: "POST",
    json: { projectId, name, source: { type: "image", image: "busybox:1.36" }, port: 8080, ...extra }
  })

const tarOf = async (
  entries: ReadonlyArray<{ name: string; type?: "file" | "directory" | "symlink"; body?: string; linkname?: string }>
) => {
  const pack = tar.pack()
  const chunks: Array<Buffer> = []
  const done = new Promise<void>((resolve) => pack.on("end", () => resolve()))
  pack.on("data", (c: unknown) => chunks.push(Buffer.from(c as Uint8Array)))
  for (const e of entries) {
    pack.entry(
      { name: e.name, type: e.type ?? "file", mode: 0o644, uid: 999, gid: 999, ...(e.linkname ? { linkname: e.linkname } : {}) },
      e.body ?? ""
    )
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

const putArchive = (serviceId: string, volume: string, body: Buffer, contentType = "application/x-tar") =>
  d.request(`/v1/services/${serviceId}/volumes/${volume}/archive`, { method: "PUT", body, headers: { "content-type": contentType } })

describe("volumes on create and PATCH", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a relative mount path", [{ name: "data", mountPath: "data" }], "volumes[0].mountPath: must be an absolute path"],
    ["/", [{ name: "data", mountPath: "/" }], "volumes[0].mountPath: must not be /"],
    ["a path below /proc", [{ name: "data", mountPath: "/proc/x" }], "volumes[0].mountPath: must not be /proc or below it"],
    ["a path below /run/denia", [{ name: "data", mountPath: "/run/denia" }], "volumes[0].mountPath: must not be /run/denia"],
    ["a path below /.denia", [{ name: "data", mountPath: "/.denia/x" }], "volumes[0].mountPath: must not be /.denia"],
    ["a '..' path", [{ name: "data", mountPath: "/a/../etc" }], "volumes[0].mountPath: must not contain '..'"],
    ["an unnormalized path", [{ name: "data", mountPath: "/var//lib/" }], "volumes[0].mountPath: must be normalized (\"/var/lib\")"],
    ["a bad name", [{ name: "Data_1", mountPath: "/data" }], "volumes[0].name: must be 1-63 characters"],
    [
      "a repeated name",
      [{ name: "data", mountPath: "/a" }, { name: "data", mountPath: "/b" }],
      "volumes[1].name: repeats the name of volumes[0]"
    ],
    [
      "a repeated path",
      [{ name: "a", mountPath: "/data" }, { name: "b", mountPath: "/data" }],
      "volumes[1].mountPath: repeats the mount path of volumes[0]"
    ],
    [
      "a nested path",
      [{ name: "a", mountPath: "/data" }, { name: "b", mountPath: "/data/sub" }],
      "volumes[1].mountPath: must not be nested with the mount path of volumes[0]"
    ]
  ]
  for (const [what, volumes, message] of cases) {
    it(`refuses ${what} (400, field first)`, async () => {
      const r = await create("v-bad", { volumes })
      expect(r.status).toBe(400)
      expect((await errorOf(r)).message.startsWith(message)).toBe(true)
    })
  }

  it("refuses two replicas on one volume (409), on create and on PATCH", async () => {
    const r = await create("v-scale", { volumes: [{ name: "data", mountPath: "/data" }], autoscale: { minReplicas: 1, maxReplicas: 3 } })
    expect(r.status).toBe(409)
    expect((await errorOf(r)).message).toMatch(/^autoscale\.maxReplicas: a service with volumes \(data\) runs one replica/)
    const ok = await create("v-scaled", { autoscale: { minReplicas: 1, maxReplicas: 3 } })
    expect(ok.status).toBe(201)
    const id = ((await ok.json()) as { id: string }).id
    const patch = await d.request(`/v1/services/${id}`, { method: "PATCH", json: { volumes: [{ name: "data", mountPath: "/data" }] } })
    expect(patch.status).toBe(409)
    const single = await create("v-single", {
      volumes: [{ name: "data", mountPath: "/data" }],
      autoscale: { minReplicas: 0, maxReplicas: 1 }
    })
    expect(single.status).toBe(201)
  })
})

describe("backup and restore of a stopped service", () => {
  let id = ""
  const volumeDir = () => path.join(d.dataDir, "volumes", projectId, "db", "data")

  beforeAll(async () => {
    const r = await create("db", {
      volumes: [{ name: "data", mountPath: "/var/lib/data" }, { name: "logs", mountPath: "/logs", readOnly: true }]
    })
    expect(r.status).toBe(201)
    const service = (await r.json()) as { id: string; volumes: Array<{ name: string; readOnly: boolean }> }
    expect(service.volumes.map((v) => [v.name, v.readOnly])).toEqual([["data", false], ["logs", true]])
    id = service.id
  })

  it("lists declared volumes before first use", async () => {
    const r = await d.request(`/v1/services/${id}/volumes`)
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({
      items: [
        { name: "data", mountPath: "/var/lib/data", readOnly: false, bytes: null, created: false, mounted: false },
        { name: "logs", mountPath: "/logs", readOnly: true, bytes: null, created: false, mounted: false }
      ]
    })
    expect((await d.request(`/v1/services/${id}/volumes/data/archive`)).status).toBe(404)
    expect((await d.request(`/v1/services/${id}/volumes/nope/archive`)).status).toBe(404)
  })

  it("the JSON body gate still guards every other route", async () => {
    const body = await tarOf([{ name: "./x", body: "x" }])
    const patch = await d.request(`/v1/services/${id}`, { method: "PATCH", body, headers: { "content-type": "application/x-tar" } })
    expect(patch.status).toBe(415)
    const wrongMethod = await d.request(`/v1/services/${id}/volumes/data/archive/extra`, {
      method: "PUT",
      body,
      headers: { "content-type": "application/x-tar" }
    })
    expect(wrongMethod.status).toBe(415)
  })

  it("restores a tar (ids shifted when root), then backs it up with X-Denia-Snapshot: stopped", async () => {
    const archive = await tarOf([
      { name: "./", type: "directory" },
      { name: "./PG_VERSION", body: "15\n" },
      { name: "./base/", type: "directory" },
      { name: "./base/1", body: "rows" },
      { name: "./latest", type: "symlink", linkname: "base/1" }
    ])
    const r = await putArchive(id, "data", archive)
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ name: "data", entries: 5 })
    expect(fs.readFileSync(path.join(volumeDir(), "base", "1"), "utf8")).toBe("rows")
    if (process.getuid?.() === 0) expect(fs.statSync(path.join(volumeDir(), "PG_VERSION")).uid).toBe(d.config.values.usernsBase + 999)

    const listed = (await (await d.request(`/v1/services/${id}/volumes`)).json()) as {
      items: Array<{ name: string; bytes: number; created: boolean }>
    }
    expect(listed.items[0]).toMatchObject({ name: "data", created: true })
    expect(listed.items[0]?.bytes).toBeGreaterThan(0)

    const backup = await d.request(`/v1/services/${id}/volumes/data/archive`)
    expect(backup.status).toBe(200)
    expect(backup.headers.get("x-denia-snapshot")).toBe("stopped")
    expect(backup.headers.get("content-type")).toBe("application/x-tar")
    // written straight into the socket (ADR 0903): the body ends with the connection, not with chunks
    expect(backup.headers.get("transfer-encoding")).toBeNull()
    expect(backup.headers.get("connection")).toBe("close")
    expect(backup.headers.get("x-content-type-options")).toBe("nosniff")
    expect(backup.headers.get("cache-control")).toBe("no-store")
    const plain = Buffer.from(await backup.arrayBuffer())
    const listing = execFileSync("tar", ["-tvf", "-", "--numeric-owner"], { input: plain }).toString()
    expect(listing).toMatch(/999\/999 .* \.\/base\/1/)
    expect(listing).toMatch(/\.\/latest -> base\/1/)

    const zst = await d.request(`/v1/services/${id}/volumes/data/archive?compress=zstd`)
    expect(zst.headers.get("content-type")).toBe("application/zstd")
    const compressed = Buffer.from(await zst.arrayBuffer())
    expect([...compressed.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd])
    expect(execFileSync("zstd", ["-d", "-q", "-c"], { input: compressed }).equals(plain)).toBe(true)

    // a zstd archive restores too (detected from its bytes)
    fs.rmSync(volumeDir(), { recursive: true })
    expect((await putArchive(id, "data", compressed, "application/zstd")).status).toBe(200)
    expect(fs.readlinkSync(path.join(volumeDir(), "latest"))).toBe("base/1")
  })

  it("refuses hostile archives (400 naming rule and entry) and archives past the caps (413); the volume stays", async () => {
    const escape = await putArchive(id, "data", await tarOf([{ name: "../../../../etc/evil", body: "x" }]))
    expect(escape.status).toBe(400)
    const e = await errorOf(escape)
    expect(e.code).toBe("HOSTILE_ARCHIVE")
    expect(e.message).toBe(`archive: path contains '..' (entry "../../../../etc/evil")`)
    const link = await putArchive(id, "data", await tarOf([{ name: "./l", type: "symlink", linkname: "/etc/passwd" }]))
    expect((await errorOf(link)).message).toMatch(
      /^archive: symlink target '\/etc\/passwd' is absolute or leaves the volume \(entry "\.\/l"\)/
    )
    const tooBig = await putArchive(id, "data", await tarOf([{ name: "./big", body: "z".repeat(40 * 1024) }]))
    expect(tooBig.status).toBe(413)
    expect((await errorOf(tooBig)).message).toMatch(/^archive: unpacked size over 32768 bytes/)
    const many = await putArchive(id, "data", await tarOf(Array.from({ length: 60 }, (_, i) => ({ name: `./f${i}`, body: "" }))))
    expect(many.status).toBe(413)
    expect((await errorOf(many)).message).toMatch(/^archive: more than 50 entries/)
    expect(fs.readFileSync(path.join(volumeDir(), "base", "1"), "utf8")).toBe("rows")
    expect(fs.readdirSync(path.dirname(volumeDir())).sort()).toEqual(["data"])
  })

  it("refuses a declared Content-Length past the cap with 413 before reading the body, and closes the connection", async () => {
    const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(`${d.url}/v1/services/${id}/volumes/data/archive`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/x-tar", "content-length": String(10 * 1024 ** 3) }
      })
      req.on("response", (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString("utf8")))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }))
      })
      req.on("error", reject)
      // only the first bytes of the promised 10 GiB are ever sent
      req.write(Buffer.alloc(1024))
    })
    expect(answer.status).toBe(413)
    expect((JSON.parse(answer.body) as { error: { message: string } }).error.message).toBe(`archive: request body over ${64 * 1024} bytes`)
    expect(answer.connection).toBe("close")
    expect(fs.readFileSync(path.join(volumeDir(), "base", "1"), "utf8")).toBe("rows")
    expect(fs.readdirSync(path.dirname(volumeDir())).sort()).toEqual(["data"])
  })

  it("a body that arrives after its head is received by the helper from the socket and the connection closes", async () => {
    const rows = randomBytes(20 * 1024).toString("hex").slice(0, 20 * 1024)
    const archive = await tarOf([{ name: "./spliced.txt", body: rows }])
    const answer = await new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(`${d.url}/v1/services/${id}/volumes/logs/archive`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/x-tar", "content-length": String(archive.length) }
      })
      req.on("response", (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString("utf8")))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }))
      })
      req.on("error", reject)
      // the head goes first; the body follows once the handler has handed the socket to the helper (ADR 0904)
      endOnceHelperHolds(req, archive).catch(reject)
    })
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.body)).toEqual({ name: "logs", entries: 1 })
    expect(answer.connection).toBe("close")
    expect(fs.readFileSync(path.join(path.dirname(volumeDir()), "logs", "spliced.txt"), "utf8")).toBe(rows)
  })

  it("removes a volume; deleting the service keeps volumes unless purgeVolumes=true", async () => {
    await putArchive(id, "logs", await tarOf([{ name: "./app.log", body: "line" }]))
    expect((await d.request(`/v1/services/${id}/volumes/logs`, { method: "DELETE" })).status).toBe(204)
    expect(fs.existsSync(path.join(path.dirname(volumeDir()), "logs"))).toBe(false)
    expect((await d.request(`/v1/services/${id}/volumes/logs`, { method: "DELETE" })).status).toBe(404)

    expect((await d.request(`/v1/services/${id}`, { method: "DELETE" })).status).toBe(204)
    expect(fs.readFileSync(path.join(volumeDir(), "base", "1"), "utf8")).toBe("rows")
    // a service re-created under the same name finds the kept volume
    const again = (await (await create("db", { volumes: [{ name: "data", mountPath: "/var/lib/data" }] })).json()) as { id: string }
    const listed = (await (await d.request(`/v1/services/${again.id}/volumes`)).json()) as { items: Array<{ created: boolean }> }
    expect(listed.items[0]?.created).toBe(true)
    expect((await d.request(`/v1/services/${again.id}?purgeVolumes=true`, { method: "DELETE" })).status).toBe(204)
    expect(fs.existsSync(volumeDir())).toBe(false)
    expect(fs.existsSync(path.dirname(volumeDir()))).toBe(false)
  })
})

describe("a backup cut short", () => {
  it("a client that goes away mid-backup stops the producers and releases the volume", async () => {
    const r = await create("db-cut", { volumes: [{ name: "data", mountPath: "/var/lib/data" }] })
    const id = ((await r.json()) as { id: string }).id
    const volumeDir = () => path.join(d.dataDir, "volumes", projectId, "db-cut", "data")
    expect((await putArchive(id, "data", await tarOf([{ name: "./before.txt", body: "before" }]))).status).toBe(200)
    // far more than the socket buffers hold, so the producers are still running when the client leaves
    fs.writeFileSync(path.join(volumeDir(), "big.bin"), randomBytes(48 * 1024 * 1024))
    const url = new URL(`${d.url}/v1/services/${id}/volumes/data/archive`)
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
        expect(res.statusCode).toBe(200)
        res.once("data", () => {
          req.destroy()
          resolve()
        })
      })
      req.on("error", (e) => (req.destroyed ? undefined : reject(e)))
    })
    // the backup's hold ends with its children: a restore is accepted again (bounded wait), nothing left running
    const restore = await tarOf([{ name: "./after.txt", body: "after" }])
    let status = 0
    for (let i = 0; i < 200 && status !== 200; i++) {
      status = (await putArchive(id, "data", restore)).status
      if (status !== 200) await new Promise((r) => setTimeout(r, 50))
    }
    expect(status).toBe(200)
    const left = execFileSync("sh", ["-c", `pgrep -f -- '^(tar|zstd) .*${volumeDir()}' || true`]).toString().trim()
    expect(left).toBe("")
  })
})
