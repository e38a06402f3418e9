/** The service form in jsdom: every source type's inputs, and errors placed under the input they name. */
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library"
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query"
import { Either, Schema } from "effect"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { ApiFailure } from "../../../console/src/api/failure.js"
import { ServiceForm } from "../../../console/src/components/ServiceForm.js"
import { emptyServiceForm, formToCreate, type ServiceFormState } from "../../../console/src/lib/serviceForm.js"
import { CreateService } from "../../../src/domain/service.js"
import { fakeDaemon, type Reply } from "./support.js"

const PROJECT = { id: "0190aaaa-0000-7000-8000-000000000001", name: "shop" }

let registries: Reply = { status: 403, json: { error: { code: "FORBIDDEN", message: "needs the admin role in this project" } } }
beforeEach(() => {
  registries = { status: 403, json: { error: { code: "FORBIDDEN", message: "needs the admin role in this project" } } }
  fakeDaemon((r) => (r.path === `/v1/projects/${PROJECT.id}/registries` ? registries : undefined))
})

const setup = (onSubmit: (s: ServiceFormState) => Promise<unknown>) => {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return render(() => (
    <QueryClientProvider client={client}>
      <ServiceForm mode="create" initial={emptyServiceForm(PROJECT.id)} projects={[PROJECT]} onSubmit={onSubmit} />
    </QueryClientProvider>
  ))
}

const type = (label: string | RegExp, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } })
const submit = () => fireEvent.click(screen.getByRole("button", { name: "Create service" }))

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

describe("ServiceForm", () => {
  it("picks the image source's registry from the project's registries", async () => {
    const REG = "0190aaaa-0000-7000-8000-0000000000e1"
    registries = {
      json: {
        items: [{
          id: REG,
          projectId: PROJECT.id,
          name: "ghcr",
          endpoint: "ghcr.io",
          auth: { kind: "basic", username: "robot" },
          createdAt: "2026-12-01T00:00:00Z",
          updatedAt: "2026-12-01T00:00:00Z"
        }]
      }
    }
    const submitted: Array<ServiceFormState> = []
    setup(async (s) => submitted.push(s))
    type("Name", "api")
    type("Image reference", "ghcr.io/org/app:1")
    const select = await screen.findByLabelText("Registry")
    expect(select.tagName).toBe("SELECT")
    expect([...(select as HTMLSelectElement).options].map((o) => o.textContent)).toEqual(["None (anonymous pull)", "ghcr (ghcr.io)"])
    fireEvent.change(select, { target: { value: REG } })
    submit()
    await waitFor(() => expect(submitted).toHaveLength(1))
    expect(formToCreate(submitted[0] ?? emptyServiceForm()).source).toEqual({ type: "image", image: "ghcr.io/org/app:1", registryId: REG })
  })

  it("falls back to a registry id input when the user may not list the project's registries", async () => {
    setup(async () => undefined)
    await waitFor(() => expect(screen.getByLabelText("Registry id (optional)").tagName).toBe("INPUT"))
    await waitFor(() => expect(screen.getByText(/Only project admins can list registries/)).toBeTruthy())
  })

  it("shows the inputs of each source type and submits what was typed", async () => {
    const submitted: Array<ServiceFormState> = []
    setup(async (s) => submitted.push(s))
    type("Name", "api")
    expect(screen.getByLabelText("Image reference")).toBeTruthy()

    fireEvent.click(screen.getByRole("radio", { name: "Git" }))
    expect(screen.queryByLabelText("Image reference")).toBeNull()
    type("Repository URL", "https://example.com/org/app.git")
    type("Ref", "main")
    expect(screen.getByLabelText("Dockerfile")).toBeTruthy()
    expect(screen.getByLabelText("Context")).toBeTruthy()
    expect(screen.getByLabelText("Credential (optional)")).toBeTruthy()

    fireEvent.click(screen.getByRole("radio", { name: "Hosted" }))
    const tag = screen.getByLabelText("Tag")
    expect(tag instanceof HTMLInputElement && tag.value).toBe("latest")
    fireEvent.click(screen.getByRole("radio", { name: "Upload" }))
    expect(screen.getByLabelText("Dockerfile")).toBeTruthy()

    fireEvent.click(screen.getByRole("radio", { name: "Git" }))
    submit()
    await waitFor(() => expect(submitted).toHaveLength(1))
    const body = formToCreate(submitted[0] ?? emptyServiceForm())
    expect(body).toMatchObject({
      projectId: PROJECT.id,
      name: "api",
      port: 8080,
      source: { type: "git", url: "https://example.com/org/app.git", ref: "main", dockerfile: "Dockerfile", context: "." }
    })
  })

  it("puts an API 400 under the field its message names, marks it invalid and focuses it", async () => {
    setup(async () => {
      throw new ApiFailure(400, "INVALID_REQUEST", "port: port must be between 1 and 65535", [{
        field: "port",
        message: "port must be between 1 and 65535"
      }])
    })
    submit()
    const message = await screen.findByText("port must be between 1 and 65535")
    const port = screen.getByLabelText("Port")
    expect(port.getAttribute("aria-invalid")).toBe("true")
    expect(port.getAttribute("aria-describedby")).toContain(message.id)
    expect(screen.getByText("Some fields need attention.")).toBeTruthy()
    await waitFor(() => expect(document.activeElement).toBe(port))
  })

  it("uses the schema the typed client checks with: a bad image reference lands under the image input", async () => {
    setup(async (s) => {
      const encoded = Schema.encodeUnknownEither(CreateService)(formToCreate(s))
      if (Either.isLeft(encoded)) throw encoded.left
    })
    type("Name", "api")
    type("Image reference", "Not A Valid::Ref")
    submit()
    await waitFor(() => expect(screen.getByLabelText("Image reference").getAttribute("aria-invalid")).toBe("true"))
    expect(screen.getByLabelText("Name").getAttribute("aria-invalid")).toBe("false")
  })

  it("shows errors that belong to no input at the top of the form", async () => {
    setup(async () => {
      throw new ApiFailure(409, "CONFLICT", "service \"api\" already exists in this project")
    })
    submit()
    const alert = await screen.findByText("service \"api\" already exists in this project")
    expect(alert.getAttribute("role")).toBe("alert")
  })

  it("refuses duplicate env keys without calling the API", async () => {
    let calls = 0
    setup(async () => calls++)
    fireEvent.click(screen.getByRole("button", { name: "Add variable" }))
    fireEvent.click(screen.getByRole("button", { name: "Add variable" }))
    type("Variable 1 name", "A")
    type("Variable 2 name", "A")
    submit()
    await screen.findByText("env key \"A\" is listed twice")
    expect(calls).toBe(0)
  })

  it("shows autoscale and endpoint inputs only when asked for", () => {
    setup(async () => undefined)
    expect(screen.queryByLabelText("Min replicas")).toBeNull()
    fireEvent.click(screen.getByRole("checkbox", { name: "Autoscale" }))
    expect(screen.getByLabelText("Min replicas")).toBeTruthy()
    fireEvent.click(screen.getByRole("button", { name: "Add endpoint" }))
    expect(screen.getByLabelText("Endpoint 1 port")).toBeTruthy()
    fireEvent.click(screen.getByRole("button", { name: "Remove endpoint 1" }))
    expect(screen.queryByLabelText("Endpoint 1 port")).toBeNull()
  })

  it("a worker has no port input and the settle check; TCP and HTTP checks show their inputs", async () => {
    const submitted: Array<ServiceFormState> = []
    setup(async (s) => submitted.push(s))
    type("Name", "jobs")
    type("Image reference", "registry.example/jobs:1")
    const kind = screen.getByLabelText("Health check") as HTMLSelectElement
    expect([...kind.options].map((o) => o.value)).toEqual(["http", "tcp", "running"])
    fireEvent.change(kind, { target: { value: "tcp" } })
    expect(screen.queryByLabelText("Health path")).toBeNull()
    expect(screen.getByLabelText("Health timeout (s)")).toBeTruthy()
    fireEvent.click(screen.getByRole("checkbox", { name: /^Worker \(no port\)/ }))
    expect(screen.queryByLabelText("Port")).toBeNull()
    expect((screen.getByLabelText("Health check") as HTMLSelectElement).value).toBe("running")
    expect(screen.queryByRole("checkbox", { name: /TLS/ })).toBeNull()
    type("Settle time (s)", "3")
    type("Drop capabilities", "ALL")
    type("Add capabilities", "net_bind_service")
    type("/dev/shm (MiB)", "32")
    submit()
    await waitFor(() => expect(submitted).toHaveLength(1))
    const body = formToCreate(submitted[0] ?? emptyServiceForm())
    expect(body).toMatchObject({
      port: null,
      health: { type: "running", settleSeconds: 3 },
      capabilities: { add: ["net_bind_service"], drop: ["ALL"] },
      shmMb: 32
    })
    expect(Either.isRight(Schema.decodeUnknownEither(CreateService)(body))).toBe(true)
  })

  it("a refused capability lands under the capability input it names", async () => {
    setup(async (s) => {
      const encoded = Schema.encodeUnknownEither(CreateService)(formToCreate(s))
      if (Either.isLeft(encoded)) throw encoded.left
    })
    type("Name", "api")
    type("Image reference", "registry.example/api:1")
    type("Add capabilities", "NET_ADMIN SYS_ADMIN")
    submit()
    await waitFor(() => expect(screen.getByLabelText("Add capabilities").getAttribute("aria-invalid")).toBe("true"))
    expect(screen.getByText(/SYS_ADMIN is never granted/)).toBeTruthy()
  })
})
