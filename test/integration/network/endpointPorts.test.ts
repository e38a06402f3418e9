/** Public ports of TCP/UDP endpoints through the API: allocation, requested ports (400 outside the range, 409 when taken), kept on PATCH, freed on delete. */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestDaemon, type TestDaemon } from "../../support/daemon.js"

let d: TestDaemon
let projectId = ""
beforeAll(async () => {
  d = await startTestDaemon({ tcp_port_range: "40000-40002", udp_port_range: "41000-41000" })
  const list = (await (await d.request("/v1/projects")).json()) as { items: Array<{ id: string; name: string }> }
  projectId = list.items.find((p) => p.name === "default")?.id ?? ""
})
afterAll(() => d.stop())

interface Endpoint {
  readonly protocol: string
  readonly port: number
  readonly publicPort?: number
}
const create = (name: string, endpoints: ReadonlyArray<Endpoint>) =>
  d.request("/v1/services", {
    method: "POST",
    json: { projectId, name, source: { type: "image", image: "busybox:1.36" }, port: 8080, endpoints }
  })
const endpointsOf = async (r: Response) => ((await r.json()) as { endpoints: ReadonlyArray<Endpoint> }).endpoints
const errorOf = async (r: Response) => ((await r.json()) as { error: { code: string; message: string } }).error

describe("endpoint public ports", () => {
  it("allocates from the ranges, keeps ports across PATCH, refuses taken and out-of-range ports, frees them on delete", async () => {
    const a = await create("redis", [{ protocol: "tcp", port: 6379 }, { protocol: "udp", port: 53 }])
    expect(a.status).toBe(201)
    const aBody = (await a.json()) as { id: string; endpoints: ReadonlyArray<Endpoint> }
    expect(aBody.endpoints).toEqual([{ protocol: "tcp", port: 6379, publicPort: 40000 }, { protocol: "udp", port: 53, publicPort: 41000 }])
    const got = await d.request(`/v1/services/${aBody.id}`)
    expect(await endpointsOf(got)).toEqual(aBody.endpoints)

    const b = await create("other", [{ protocol: "tcp", port: 80, publicPort: 40002 }])
    expect(b.status).toBe(201)
    const bId = ((await b.json()) as { id: string }).id

    const taken = await create("third", [{ protocol: "tcp", port: 80, publicPort: 40000 }])
    expect(taken.status).toBe(409)
    expect((await errorOf(taken)).message).toMatch(/^endpoints\[0\]\.publicPort/)
    const outside = await create("third", [{ protocol: "tcp", port: 80 }, { protocol: "tcp", port: 81, publicPort: 39999 }])
    expect(outside.status).toBe(400)
    expect((await errorOf(outside)).message).toMatch(/^endpoints\[1\]\.publicPort: must be within tcp_port_range 40000-40002/)
    const full = await create("third", [{ protocol: "udp", port: 5 }])
    expect(full.status).toBe(409)
    // a refused create leaves no service behind
    const names = ((await (await d.request("/v1/services")).json()) as { items: ReadonlyArray<{ name: string }> }).items.map((s) => s.name)
    expect(names).not.toContain("third")

    // PATCH without publicPort keeps the allocation; adding an endpoint gets the next free port
    const patched = await d.request(`/v1/services/${aBody.id}`, {
      method: "PATCH",
      json: { endpoints: [{ protocol: "tcp", port: 6379 }, { protocol: "tcp", port: 7000 }] }
    })
    expect(patched.status).toBe(200)
    expect(await endpointsOf(patched)).toEqual([{ protocol: "tcp", port: 6379, publicPort: 40000 }, {
      protocol: "tcp",
      port: 7000,
      publicPort: 40001
    }])
    // the UDP port the PATCH dropped is free again
    const udp = await create("dns", [{ protocol: "udp", port: 53 }])
    expect(udp.status).toBe(201)
    expect(await endpointsOf(udp)).toEqual([{ protocol: "udp", port: 53, publicPort: 41000 }])

    // deleting a service frees its ports
    expect((await d.request(`/v1/services/${bId}`, { method: "DELETE" })).status).toBe(204)
    const reuse = await create("again", [{ protocol: "tcp", port: 1, publicPort: 40002 }])
    expect(reuse.status).toBe(201)
  })
})
