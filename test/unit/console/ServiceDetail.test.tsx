/**
 * The service page against a fake daemon whose responses carry the status
 * contract (`service.status`, deployment trigger/restarts/last exit): state
 * and crash reason, the live deployment, Start/Stop by state, the
 * pending-changes banner, secrets, and "pending" clearing when a log ends.
 */
import { cleanup, fireEvent, screen, waitFor, within } from "@solidjs/testing-library"
import { afterEach, describe, expect, it, vi } from "vitest"
import ServiceDetail from "../../../console/src/pages/ServiceDetail.js"
import { fakeDaemon, ids, NOW, type Recorded, renderAt, type Reply, superAdminMe } from "./support.js"

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const project = { id: ids.project, name: "default", sharedEnv: {}, defaultLimits: null, createdAt: NOW, updatedAt: NOW }

const service = (over: Record<string, unknown> = {}) => ({
  id: ids.service,
  projectId: ids.project,
  name: "web",
  source: { type: "hosted", tag: "v1" },
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
  updatedAt: NOW,
  ...over
})

const deployment = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  serviceId: ids.service,
  status: "healthy",
  imageRef: "default/web:v1",
  createdAt: NOW,
  ...over
})

const crashloop = {
  state: "crashloop",
  readyReplicas: 0,
  desiredReplicas: 1,
  restarts: 4,
  lastExit: "workload exited (code 1) after 10 ms: boom",
  nextRestartAt: NOW,
  liveDeploymentId: ids.d1,
  pendingChanges: true
}

/** A daemon with one service; `extra` answers first. */
const daemon = (
  svc: ReturnType<typeof service>,
  deployments: ReadonlyArray<unknown>,
  extra: (r: Recorded) => Reply | undefined = () => undefined
) =>
  fakeDaemon((r) => {
    const own = extra(r)
    if (own !== undefined) return own
    if (r.path === "/v1/me") return { json: superAdminMe }
    if (r.path === `/v1/services/${ids.service}`) return { json: svc }
    if (r.path === `/v1/projects/${ids.project}`) return { json: project }
    if (r.path === `/v1/services/${ids.service}/deployments`) return { json: { items: deployments } }
    if (r.path === `/v1/services/${ids.service}/domains`) return { json: { items: [] } }
    if (r.path === `/v1/services/${ids.service}/secrets` && r.method === "GET") return { json: { items: [] } }
    return undefined
  })

const open = () => renderAt(`/services/${ids.service}`, "/services/:id", ServiceDetail)
const action = (name: string) => within(screen.getByRole("group", { name: "Service actions" })).getByRole("button", { name })

describe("service page", () => {
  it("shows a crash loop with its last exit reason, the live deployment with trigger and restarts, and a redeploy banner", async () => {
    daemon(service({ status: crashloop }), [
      deployment(ids.d2, { status: "failed", error: "health check failed", trigger: "api" }),
      deployment(ids.d1, { trigger: "push", restartCount: 4, lastExitReason: "workload exited (code 1) after 10 ms: boom" })
    ])
    open()
    await screen.findByRole("heading", { name: "web" })
    const crash = screen.getAllByRole("alert").find((a) => a.textContent?.includes("Crash loop"))
    expect(crash?.textContent).toContain("workload exited (code 1) after 10 ms: boom")
    expect(screen.getAllByText("workload exited (code 1) after 10 ms: boom").length).toBeGreaterThan(0)
    const overview = screen.getByRole("region", { name: "Overview" })
    expect(within(overview).getByText("crashloop")).toBeTruthy()
    expect(within(overview).getByText(/4 restarts/)).toBeTruthy()
    expect(await within(overview).findByText("hosted registry: default/web:v1")).toBeTruthy()

    const banner = screen.getByRole("status", { name: "Pending changes" })
    expect(banner.textContent).toContain("Pending changes — redeploy")
    expect(within(banner).getByRole("button", { name: "Redeploy" })).toBeTruthy()

    const rows = await waitFor(() => {
      const r = document.querySelectorAll<HTMLTableRowElement>("#deployments tbody tr")
      expect(r.length).toBe(2)
      return r
    })
    const [newest, live] = [...rows]
    expect(newest?.textContent).not.toContain("live")
    expect(newest?.textContent).toContain("api")
    expect(live?.classList.contains("live")).toBe(true)
    expect(live && within(live).getByText("live")).toBeTruthy()
    expect(live?.textContent).toContain("push")
    expect(live?.textContent).toContain("4")
    expect(live?.textContent).toContain("last exit: workload exited (code 1) after 10 ms: boom")

    // Something runs (and crashes): stop and restart make sense, start does not.
    expect(action("Stop").hasAttribute("disabled")).toBe(false)
    expect(action("Restart").hasAttribute("disabled")).toBe(false)
    expect(action("Start").hasAttribute("disabled")).toBe(true)
    expect(action("Roll back").hasAttribute("disabled")).toBe(true)
  })

  it("a failed worker shows no URL or port, its settle check and capabilities, and why its deploy failed", async () => {
    const reason = "workload exited (code 3): queue: connection refused; see: denia logs web"
    daemon(
      service({
        port: null,
        health: { type: "running", settleSeconds: 5 },
        capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
        shmMb: 32,
        promotedDeploymentId: null,
        status: { ...crashloop, state: "failed", restarts: 0, lastExit: reason, liveDeploymentId: null, pendingChanges: false }
      }),
      [deployment(ids.d1, { status: "failed", error: reason })]
    )
    open()
    await screen.findByRole("heading", { name: "web" })
    const overview = screen.getByRole("region", { name: "Overview" })
    expect(within(overview).getByText(reason)).toBeTruthy()
    expect(within(overview).getByText("none (worker: no route, no PORT)")).toBeTruthy()
    expect(within(overview).getByText("none (worker)")).toBeTruthy()
    expect(within(overview).getByText("still running after 5 s")).toBeTruthy()
    expect(within(overview).getByText("none + NET_BIND_SERVICE")).toBeTruthy()
    expect(within(overview).getByText("32 MiB")).toBeTruthy()
  })

  it("offers Start but not Stop or Restart for a stopped service, and no banner without pending changes", async () => {
    daemon(
      service({
        promotedDeploymentId: null,
        status: { ...crashloop, state: "stopped", restarts: 0, lastExit: undefined, liveDeploymentId: null, pendingChanges: false }
      }),
      [
        deployment(ids.d1, { status: "stopped" })
      ]
    )
    open()
    await screen.findByRole("heading", { name: "web" })
    await waitFor(() => expect(action("Start").hasAttribute("disabled")).toBe(false))
    expect(action("Stop").hasAttribute("disabled")).toBe(true)
    expect(action("Restart").hasAttribute("disabled")).toBe(true)
    expect(screen.queryByRole("status", { name: "Pending changes" })).toBeNull()
    expect(screen.queryByText("Crash loop")).toBeNull()
  })

  it("shows the public ports of TCP/UDP endpoints and the node network", async () => {
    daemon(
      service({
        endpoints: [{ protocol: "tcp", port: 6379, publicPort: 30000 }, { protocol: "udp", port: 53, publicPort: 31000 }],
        status: {
          ...crashloop,
          state: "running",
          readyReplicas: 1,
          restarts: 0,
          lastExit: undefined,
          network: "loopback only (the daemon does not run as root)"
        }
      }),
      [deployment(ids.d1)]
    )
    open()
    await screen.findByRole("heading", { name: "web" })
    const overview = screen.getByRole("region", { name: "Overview" })
    expect(within(overview).getByText(`tcp 6379 → ${window.location.hostname}:30000`)).toBeTruthy()
    expect(within(overview).getByText(`udp 53 → ${window.location.hostname}:31000`)).toBeTruthy()
    expect(within(overview).getByText("loopback only (the daemon does not run as root)")).toBeTruthy()
  })

  it("without a status from the daemon, derives it: the promoted deployment is live and the service runs", async () => {
    daemon(service({ source: { type: "image", image: "nginx:1.27", registryId: null } }), [
      deployment(ids.d2, { status: "failed" }),
      deployment(ids.d1)
    ])
    open()
    await screen.findByRole("heading", { name: "web" })
    const overview = screen.getByRole("region", { name: "Overview" })
    await waitFor(() => expect(within(overview).getByText("running")).toBeTruthy())
    expect(within(overview).getByText("image: nginx:1.27")).toBeTruthy()
    const live = await waitFor(() => {
      const row = document.querySelector<HTMLTableRowElement>(`tr[data-deployment="${ids.d1}"]`)
      expect(row?.classList.contains("live")).toBe(true)
      return row
    })
    expect(live?.textContent).toContain("live")
    expect(document.querySelector(`tr[data-deployment="${ids.d2}"]`)?.classList.contains("live")).toBe(false)
    expect(action("Start").hasAttribute("disabled")).toBe(true)
    expect(action("Stop").hasAttribute("disabled")).toBe(false)
  })

  it("sets a secret (value never shown again) and removes one", async () => {
    let secrets: Array<{ name: string; updatedAt: string }> = []
    const d = daemon(
      service({ status: { ...crashloop, state: "running", readyReplicas: 1, pendingChanges: false } }),
      [deployment(ids.d1)],
      (r) => {
        if (r.path !== `/v1/services/${ids.service}/secrets` && !r.path.startsWith(`/v1/services/${ids.service}/secrets/`)) return undefined
        if (r.method === "GET") return { json: { items: secrets } }
        if (r.method === "POST") {
          const body = r.body as { name: string }
          secrets = [{ name: body.name, updatedAt: NOW }]
          return { status: 201, json: secrets[0] }
        }
        if (r.method === "DELETE") {
          secrets = []
          return { status: 204 }
        }
        return undefined
      }
    )
    open()
    const region = await screen.findByRole("region", { name: "Secrets" })
    await within(region).findByText("No secrets.")
    fireEvent.input(within(region).getByLabelText("Secret name"), { target: { value: "DATABASE_URL" } })
    const value = within(region).getByLabelText("Secret value")
    expect(value.getAttribute("type")).toBe("password")
    fireEvent.input(value, { target: { value: "postgres://u:p@db/app" } })
    fireEvent.click(within(region).getByRole("button", { name: "Set secret" }))
    await within(region).findByText("DATABASE_URL")
    expect(d.find("POST", `/v1/services/${ids.service}/secrets`).map((c) => c.body)).toEqual([{
      name: "DATABASE_URL",
      value: "postgres://u:p@db/app"
    }])
    await waitFor(() => expect((within(region).getByLabelText("Secret value") as HTMLInputElement).value).toBe(""))
    expect(region.textContent).not.toContain("postgres://u:p@db/app")
    expect(region.textContent).toContain("Redeploy to apply it.")
    // The service is refetched: its pending-changes flag may have flipped.
    await waitFor(() => expect(d.find("GET", `/v1/services/${ids.service}`).length).toBeGreaterThan(1))

    fireEvent.click(within(region).getByRole("button", { name: "Remove secret DATABASE_URL" }))
    await within(region).findByText("No secrets.")
    expect(d.find("DELETE", `/v1/services/${ids.service}/secrets/DATABASE_URL`)).toHaveLength(1)
  })

  it("clears 'pending' when the open deployment's log stream ends, without waiting for a poll", async () => {
    let status = "pending"
    const d = daemon(service({ promotedDeploymentId: null, previousDeploymentId: null }), [], (r) => {
      if (r.path === `/v1/services/${ids.service}/deployments`) return { json: { items: [deployment(ids.d1, { status })] } }
      if (r.path === `/v1/deployments/${ids.d1}/logs`) {
        status = "healthy"
        return {
          text: `event: log\ndata: pulling\n\nevent: end\ndata: {"status":"healthy"}\n\n`,
          headers: { "content-type": "text/event-stream" }
        }
      }
      return undefined
    })
    open()
    const row = await waitFor(() => {
      const r = document.querySelector<HTMLTableRowElement>(`tr[data-deployment="${ids.d1}"]`)
      expect(r?.textContent).toContain("pending")
      return r
    })
    fireEvent.click(within(row as HTMLElement).getByRole("button", { name: "Log" }))
    await screen.findByText("ended: healthy")
    await waitFor(() => expect(document.querySelector(`tr[data-deployment="${ids.d1}"]`)?.textContent).toContain("healthy"))
    expect(d.find("GET", `/v1/services/${ids.service}/deployments`).length).toBeGreaterThanOrEqual(2)
  })
})
