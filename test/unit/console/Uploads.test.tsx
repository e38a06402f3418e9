/**
 * Stored uploads on an upload-source service's page against a fake daemon: listed with size and
 * expiry, deployed again by id with the Deploy button (`POST …/deployments {uploadId}`), a refusal
 * shown; image services have no Uploads section.
 */
import { cleanup, fireEvent, screen, waitFor, within } from "@solidjs/testing-library"
import { afterEach, describe, expect, it, vi } from "vitest"
import ServiceDetail from "../../../console/src/pages/ServiceDetail.js"
import { fakeDaemon, ids, NOW, renderAt, superAdminMe } from "./support.js"
import { dbService } from "./volumes/fixtures.js"

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const serviceOf = (source: Record<string, unknown>) => ({ ...dbService, name: "app", source, port: 8080, volumes: [] })
const project = { id: ids.project, name: "default", sharedEnv: {}, defaultLimits: null, createdAt: NOW, updatedAt: NOW }
const U1 = "0190aaaa-0000-7000-8000-0000000000f1"
const U2 = "0190aaaa-0000-7000-8000-0000000000f2"
const stored = (id: string, bytes: number) => ({
  id,
  bytes,
  format: "zstd",
  entries: 6,
  unpackedBytes: bytes * 3,
  createdAt: NOW,
  expiresAt: "2026-12-01T13:00:00.000Z"
})

const daemonFor = (service: ReturnType<typeof serviceOf>, deployReply: (uploadId: unknown) => { status: number; json: unknown }) =>
  fakeDaemon((r) => {
    if (r.path === "/v1/me") return { json: superAdminMe }
    if (r.path === `/v1/services/${ids.service}`) return { json: service }
    if (r.path === `/v1/projects/${ids.project}`) return { json: project }
    if (r.method === "POST" && r.path === `/v1/services/${ids.service}/deployments`) {
      const body = r.body as { uploadId?: unknown } | undefined
      return deployReply(body?.uploadId)
    }
    if (r.path === `/v1/services/${ids.service}/deployments`) return { json: { items: [] } }
    if (r.path === `/v1/services/${ids.service}/uploads`) return { json: { items: [stored(U2, 2 * 1024 * 1024), stored(U1, 4096)] } }
    if (r.path.startsWith(`/v1/services/${ids.service}/`)) return { json: { items: [] } }
    return undefined
  })

describe("service page: stored uploads", () => {
  it("lists the stored uploads and deploys one by id", async () => {
    const d = daemonFor(serviceOf({ type: "upload", dockerfile: "Dockerfile", context: "." }), () => ({
      status: 202,
      json: { id: ids.d1, serviceId: ids.service, status: "pending", imageRef: `127.0.0.1:5000/default/app:upload-${U1}`, createdAt: NOW }
    }))
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
    const region = await screen.findByRole("region", { name: "Uploads" })
    const first = (await within(region).findByText(U2)).closest("tr") as HTMLElement
    expect(first.textContent).toContain("2.0 MiB")
    expect(first.textContent).toContain("6.0 MiB unpacked")
    const rows = within(region).getAllByRole("row").slice(1)
    expect(rows.map((r) => r.getAttribute("data-upload"))).toEqual([U2, U1])

    fireEvent.click(within(region).getByRole("button", { name: `Deploy upload ${U1}` }))
    await waitFor(() => expect(region.textContent).toContain(`Deployment ${ids.d1} queued: it builds upload ${U1}.`))
    const posts = d.find("POST", `/v1/services/${ids.service}/deployments`)
    expect(posts.map((p) => p.body)).toEqual([{ uploadId: U1 }])
  })

  it("shows the daemon's refusal (an expired upload)", async () => {
    daemonFor(serviceOf({ type: "upload", dockerfile: "Dockerfile", context: "." }), (uploadId) => ({
      status: 404,
      json: { error: { code: "NOT_FOUND", message: `uploadId: no stored upload ${String(uploadId)} for this service (expired?)` } }
    }))
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
    const region = await screen.findByRole("region", { name: "Uploads" })
    fireEvent.click(await within(region).findByRole("button", { name: `Deploy upload ${U2}` }))
    const alert = await within(region).findByText(new RegExp(`uploadId: no stored upload ${U2}`))
    expect(alert.getAttribute("role")).toBe("alert")
  })

  it("has no Uploads section for an image service", async () => {
    const d = daemonFor(serviceOf({ type: "image", image: "busybox", registryId: null }), () => ({ status: 500, json: {} }))
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
    await screen.findByRole("region", { name: "Volumes" })
    expect(screen.queryByRole("region", { name: "Uploads" })).toBeNull()
    expect(d.find("GET", `/v1/services/${ids.service}/uploads`)).toEqual([])
  })
})
