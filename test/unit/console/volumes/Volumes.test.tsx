/**
 * Volumes on the service page against a fake daemon: size and mount path,
 * delete only when no replica mounts the volume, and a backup download with
 * the session's token that reports whether the copy is consistent.
 */
import { cleanup, fireEvent, screen, waitFor, within } from "@solidjs/testing-library"
import { afterEach, describe, expect, it, vi } from "vitest"
import ServiceDetail from "../../../../console/src/pages/ServiceDetail.js"
import { fakeDaemon, ids, NOW, renderAt, superAdminMe } from "../support.js"
import { dbService } from "./fixtures.js"

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const service = dbService
const project = { id: ids.project, name: "default", sharedEnv: {}, defaultLimits: null, createdAt: NOW, updatedAt: NOW }

describe("service page: volumes", () => {
  it("lists volumes with size and mount path; deletes an unmounted one; downloads a backup", async () => {
    let items = [
      { name: "data", mountPath: "/var/lib/postgresql/data", readOnly: false, bytes: 48 * 1024 * 1024, created: true, mounted: true },
      { name: "old", mountPath: null, readOnly: false, bytes: 2048, created: true, mounted: false }
    ]
    const d = fakeDaemon((r) => {
      if (r.path === "/v1/me") return { json: superAdminMe }
      if (r.path === `/v1/services/${ids.service}`) return { json: service }
      if (r.path === `/v1/projects/${ids.project}`) return { json: project }
      if (r.path === `/v1/services/${ids.service}/deployments`) return { json: { items: [] } }
      if (r.path === `/v1/services/${ids.service}/domains`) return { json: { items: [] } }
      if (r.path === `/v1/services/${ids.service}/secrets`) return { json: { items: [] } }
      if (r.path === `/v1/services/${ids.service}/volumes`) return { json: { items } }
      if (r.method === "DELETE" && r.path === `/v1/services/${ids.service}/volumes/old`) {
        items = items.filter((v) => v.name !== "old")
        return { status: 204 }
      }
      if (r.path === `/v1/services/${ids.service}/volumes/data/archive`) {
        return { text: "tar bytes", headers: { "content-type": "application/x-tar", "x-denia-snapshot": "live" } }
      }
      return undefined
    })
    vi.stubGlobal("confirm", () => true)
    const createObjectURL = vi.fn(() => "blob:backup")
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL: () => undefined }))
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)

    const region = await screen.findByRole("region", { name: "Volumes" })
    const data = await within(region).findByText("data")
    const row = data.closest("tr") as HTMLElement
    expect(row.textContent).toContain("/var/lib/postgresql/data")
    expect(row.textContent).toContain("48.0 MiB")
    expect((within(row).getByRole("button", { name: "Delete volume data" }) as HTMLButtonElement).disabled).toBe(true)
    expect(region.textContent).toContain("(no longer declared)")

    fireEvent.click(within(region).getByRole("button", { name: "Delete volume old" }))
    await waitFor(() => expect(within(region).queryByText("old")).toBeNull())
    expect(d.find("DELETE", `/v1/services/${ids.service}/volumes/old`)).toHaveLength(1)

    // the list was refetched: find the row again
    fireEvent.click(within(region).getByRole("button", { name: "Download a backup of volume data" }))
    await waitFor(() => expect(region.textContent).toContain("this is a live copy; stop the service for a consistent one"))
    expect(d.find("GET", `/v1/services/${ids.service}/volumes/data/archive`)).toHaveLength(1)
    expect(createObjectURL).toHaveBeenCalledTimes(1)
  })
})
