/**
 * Volumes in the service create/edit form (jsdom): rows added, edited and removed; client-side hints
 * on the row's input before anything is sent; the API's 400/409 placed on the input it names; the
 * one-replica note; an edit starts from the service's volumes and sends them back.
 */
import { cleanup, fireEvent, render, screen, waitFor } from "@solidjs/testing-library"
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query"
import { Either, Schema } from "effect"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { ApiFailure, toApiFailure } from "../../../../console/src/api/failure.js"
import { ServiceForm } from "../../../../console/src/components/ServiceForm.js"
import {
  emptyServiceForm,
  formToCreate,
  formToSpec,
  type ServiceFormState,
  serviceToForm
} from "../../../../console/src/lib/serviceForm.js"
import { CreateService, Service, UpdateService } from "../../../../src/domain/service.js"
import { fakeDaemon, ids } from "../support.js"
import { dbService } from "./fixtures.js"

const PROJECT = { id: ids.project, name: "shop" }

beforeEach(() => {
  fakeDaemon(() => ({ status: 403, json: { error: { code: "FORBIDDEN", message: "needs the admin role in this project" } } }))
})
afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const setup = (
  onSubmit: (s: ServiceFormState) => Promise<unknown>,
  initial = emptyServiceForm(PROJECT.id),
  mode: "create" | "edit" = "create"
) => {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  return render(() => (
    <QueryClientProvider client={client}>
      <ServiceForm mode={mode} initial={initial} projects={[PROJECT]} onSubmit={onSubmit} />
    </QueryClientProvider>
  ))
}

const type = (label: string | RegExp, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } })
const invalid = (label: string) => screen.getByLabelText(label).getAttribute("aria-invalid")

const fillBasics = () => {
  type("Name", "db")
  type("Image reference", "registry.example/postgres:16")
}

describe("service form: volumes", () => {
  it("adds, edits and removes rows and sends the volumes the API accepts", async () => {
    const submitted: Array<ServiceFormState> = []
    setup(async (s) => submitted.push(s))
    fillBasics()
    expect(screen.getByText(/No volumes/)).toBeTruthy()
    expect(screen.queryByRole("note")).toBeNull()
    fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    expect(screen.getByRole("note").textContent).toMatch(/runs one replica and redeploys with the recreate strategy/)
    type("Volume 1 name", "data")
    type("Volume 1 mount path", " /var/lib/postgresql/data ")
    type("Volume 2 name", "scratch")
    type("Volume 2 mount path", "/tmp/scratch")
    type("Volume 3 name", "config")
    type("Volume 3 mount path", "/etc/app")
    fireEvent.click(screen.getByRole("checkbox", { name: "Volume 3 read-only" }))
    fireEvent.click(screen.getByRole("button", { name: "Remove volume 2" }))
    expect(screen.queryByLabelText("Volume 3 name")).toBeNull()
    expect((screen.getByLabelText("Volume 2 name") as HTMLInputElement).value).toBe("config")
    fireEvent.click(screen.getByRole("button", { name: "Create service" }))
    await waitFor(() => expect(submitted).toHaveLength(1))
    const body = formToCreate(submitted[0] ?? emptyServiceForm())
    expect(body.volumes).toEqual([
      { name: "data", mountPath: "/var/lib/postgresql/data", readOnly: false },
      { name: "config", mountPath: "/etc/app", readOnly: true }
    ])
    expect(Either.isRight(Schema.decodeUnknownEither(CreateService)(body))).toBe(true)
  })

  it("says what is wrong on the row's inputs without calling the API", async () => {
    let calls = 0
    setup(async () => calls++)
    fillBasics()
    for (let i = 0; i < 3; i++) fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    type("Volume 1 name", "Data_1")
    type("Volume 1 mount path", "/proc/x")
    type("Volume 2 name", "data")
    type("Volume 2 mount path", "/srv")
    type("Volume 3 name", "data")
    type("Volume 3 mount path", "/srv/sub")
    fireEvent.click(screen.getByRole("button", { name: "Create service" }))
    await screen.findByText(/^name must be 1-63 characters/)
    expect(screen.getByText("mount path must not be /proc or below it (reserved for the runtime)")).toBeTruthy()
    expect(screen.getByText("name repeats the name of volume 2")).toBeTruthy()
    expect(screen.getByText("mount path must not be nested with the mount path of volume 2")).toBeTruthy()
    const inputs = [1, 2, 3].flatMap((n) => [`Volume ${n} name`, `Volume ${n} mount path`])
    expect(inputs.map(invalid)).toEqual(["true", "true", "false", "false", "true", "true"])
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText("Volume 1 name")))
    expect(calls).toBe(0)
  })

  it("refuses more than one replica with volumes at the max replicas input", async () => {
    let calls = 0
    setup(async () => calls++)
    fillBasics()
    fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    type("Volume 1 name", "data")
    type("Volume 1 mount path", "/data")
    fireEvent.click(screen.getByRole("checkbox", { name: "Autoscale" }))
    type("Max replicas", "3")
    fireEvent.click(screen.getByRole("button", { name: "Create service" }))
    await waitFor(() => expect(invalid("Max replicas")).toBe("true"))
    const id = screen.getByLabelText("Max replicas").getAttribute("aria-describedby") ?? ""
    expect(document.getElementById(id.split(" ").at(-1) ?? "")?.textContent).toBe(
      "a service with volumes runs one replica; set max replicas to 1 or remove the volumes"
    )
    expect(calls).toBe(0)
  })

  it("puts the API's 400 on the volume input its field path names", async () => {
    setup(async () => {
      throw toApiFailure({
        _tag: "BadRequest",
        code: "INVALID_REQUEST",
        message: "volumes[0].mountPath: must not be /run/denia or below it (reserved for the runtime)"
      })
    })
    fillBasics()
    fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    type("Volume 1 name", "data")
    type("Volume 1 mount path", "/data")
    fireEvent.click(screen.getByRole("button", { name: "Create service" }))
    const message = await screen.findByText("must not be /run/denia or below it (reserved for the runtime)")
    expect(invalid("Volume 1 mount path")).toBe("true")
    expect(screen.getByLabelText("Volume 1 mount path").getAttribute("aria-describedby")).toContain(message.id)
    expect(invalid("Volume 1 name")).toBe("false")
    expect(screen.getByText("Some fields need attention.")).toBeTruthy()
  })

  it("shows a refusal of the list as a whole under the rows", async () => {
    setup(async () => {
      throw new ApiFailure(400, "INVALID_REQUEST", "volumes: at most 16 volumes per service", [
        { field: "volumes", message: "at most 16 volumes per service" }
      ])
    })
    fillBasics()
    fireEvent.click(screen.getByRole("button", { name: "Add volume" }))
    type("Volume 1 name", "data")
    type("Volume 1 mount path", "/data")
    fireEvent.click(screen.getByRole("button", { name: "Create service" }))
    expect((await screen.findByText("at most 16 volumes per service")).getAttribute("role")).toBe("alert")
  })

  it("edits start from the service's volumes and send them back in the PATCH body", async () => {
    const service = Schema.decodeUnknownSync(Service)(dbService)
    const submitted: Array<ServiceFormState> = []
    setup(async (s) => submitted.push(s), serviceToForm(service), "edit")
    expect((screen.getByLabelText("Volume 1 mount path") as HTMLInputElement).value).toBe("/var/lib/postgresql/data")
    fireEvent.click(screen.getByRole("checkbox", { name: "Volume 1 read-only" }))
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }))
    await waitFor(() => expect(submitted).toHaveLength(1))
    const patch = formToSpec(submitted[0] ?? emptyServiceForm())
    expect(patch.volumes).toEqual([{ name: "data", mountPath: "/var/lib/postgresql/data", readOnly: true }])
    expect(Either.isRight(Schema.decodeUnknownEither(UpdateService)(patch))).toBe(true)
  })
})
