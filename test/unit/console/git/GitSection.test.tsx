/**
 * The Git section of a git-source service: host key, auto-deploy state and its
 * last error, the commit on deployments, and the webhook URL shown once (after
 * "Create webhook URL") with copy buttons; no Git section for other sources.
 */
import { cleanup, fireEvent, screen, waitFor, within } from "@solidjs/testing-library"
import { afterEach, describe, expect, it, vi } from "vitest"
import ServiceDetail from "../../../../console/src/pages/ServiceDetail.js"
import { fakeDaemon, ids, NOW, renderAt, superAdminMe } from "../support.js"

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const COMMIT = "0123456789abcdef0123456789abcdef01234567"
const project = { id: ids.project, name: "default", sharedEnv: {}, defaultLimits: null, createdAt: NOW, updatedAt: NOW }
const service = (source: Record<string, unknown>) => ({
  id: ids.service,
  projectId: ids.project,
  name: "site",
  source,
  port: 8080,
  env: {},
  limits: null,
  health: { path: "/", timeoutSeconds: 30 },
  tlsEnabled: false,
  autoscale: null,
  endpoints: [],
  promotedDeploymentId: ids.d1,
  previousDeploymentId: null,
  createdAt: NOW,
  updatedAt: NOW
})
const gitSource = {
  type: "git",
  url: "ssh://git@git.example/site.git",
  ref: "main",
  dockerfile: "Dockerfile",
  context: ".",
  autoDeploy: { mode: "webhook" }
}
const status = (webhookConfigured: boolean) => ({
  hostKey: { fingerprints: ["SHA256:abcdefFingerprint"], pinnedAt: NOW },
  webhook: { configured: webhookConfigured },
  autoDeploy: { state: "error", lastCheckedAt: NOW, lastSeenRef: "main", lastSeenCommit: COMMIT, lastError: "cannot reach git.example" }
})

const daemon = (svc: ReturnType<typeof service>) => {
  let configured = false
  return fakeDaemon((r) => {
    if (r.path === "/v1/me") return { json: superAdminMe }
    if (r.path === `/v1/services/${ids.service}`) return { json: svc }
    if (r.path === `/v1/projects/${ids.project}`) return { json: project }
    if (r.path === `/v1/services/${ids.service}/deployments`) {
      return {
        json: {
          items: [{
            id: ids.d1,
            serviceId: ids.service,
            status: "healthy",
            imageRef: `127.0.0.1:7180/default/site:${ids.d1}`,
            createdAt: NOW,
            trigger: "webhook",
            commitSha: COMMIT,
            gitRef: "main"
          }]
        }
      }
    }
    if (r.path === `/v1/services/${ids.service}/domains`) return { json: { items: [] } }
    if (r.path === `/v1/services/${ids.service}/secrets`) return { json: { items: [] } }
    if (r.path === `/v1/services/${ids.service}/git`) return { json: status(configured) }
    if (r.path === `/v1/services/${ids.service}/git/hook` && r.method === "POST") {
      configured = true
      return {
        status: 201,
        json: { url: `http://127.0.0.1:7180/v1/hooks/${ids.service}/s3cret`, path: `/v1/hooks/${ids.service}/s3cret`, secret: "s3cret" }
      }
    }
    return undefined
  })
}

describe("Git section", () => {
  it("shows the pinned host key, the auto-deploy error and the commit of a deployment", async () => {
    daemon(service(gitSource))
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
    const git = await screen.findByRole("region", { name: "Git" })
    expect(await within(git).findByText("SHA256:abcdefFingerprint")).toBeTruthy()
    expect(within(git).getByText("cannot reach git.example")).toBeTruthy()
    expect(within(git).getByText(/main @ 0123456789ab/)).toBeTruthy()
    const commit = await waitFor(() => {
      const c = document.querySelector("#deployments [data-commit]")
      expect(c).not.toBeNull()
      return c
    })
    expect(commit?.textContent).toContain("commit 0123456789ab (main)")
  })

  it("creates the webhook and shows its URL and secret once, with copy buttons", async () => {
    daemon(service(gitSource))
    const writeText = vi.fn(async () => {})
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } })
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
    const git = await screen.findByRole("region", { name: "Git" })
    expect(within(git).queryByRole("status", { name: "Webhook URL" })).toBeNull()
    fireEvent.click(await within(git).findByRole("button", { name: "Create webhook URL" }))
    const shown = await within(git).findByRole("status", { name: "Webhook URL" })
    expect(shown.textContent).toContain(`http://127.0.0.1:7180/v1/hooks/${ids.service}/s3cret`)
    fireEvent.click(within(shown).getByRole("button", { name: "Copy webhook URL" }))
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(`http://127.0.0.1:7180/v1/hooks/${ids.service}/s3cret`))
    expect(await within(git).findByRole("button", { name: "Rotate webhook URL" })).toBeTruthy()
  })

  it("is not offered for a service that does not build from Git", async () => {
    daemon(service({ type: "image", image: "nginx:1.27", registryId: null }))
    renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
    await screen.findByRole("heading", { name: "site" })
    expect(screen.queryByRole("region", { name: "Git" })).toBeNull()
  })
})
