import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { endpointsLabel } from "../../../src/cli/client/serviceView.js"
import { CreateService } from "../../../src/domain/service.js"

const spec = (endpoints: unknown) => ({
  ...Schema.decodeUnknownSync(CreateService)({
    projectId: "0190a5d4-0000-7000-8000-000000000001",
    name: "db",
    source: { type: "image", image: "redis:7" },
    port: 6379,
    endpoints
  }),
  id: "0190a5d4-0000-7000-8000-000000000002",
  promotedDeploymentId: null,
  previousDeploymentId: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z"
})

describe("denia services get: endpoints", () => {
  it("prints each endpoint with the address its public port answers at", () => {
    expect(
      endpointsLabel(
        spec([{ protocol: "tcp", port: 6379, publicPort: 30000 }, { protocol: "udp", port: 53, publicPort: 31000 }]),
        "127.0.0.1"
      )
    )
      .toBe("tcp 6379 → 127.0.0.1:30000, udp 53 → 127.0.0.1:31000")
    expect(endpointsLabel(spec([]), "h")).toBe("-")
  })
})
