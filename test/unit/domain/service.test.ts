/** The service schema: worker semantics, the health union (and its legacy form), capabilities, shm — every refusal names its field. */
import { Either, ParseResult, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { describeCapabilities, resolveCapabilities } from "../../../src/domain/capabilities.js"
import { CreateService, describeHealth, Service, ServiceSpecDocument, specProblem, UpdateService } from "../../../src/domain/service.js"

const PROJECT = "0190e6a0-0000-7000-8000-000000000001"
const base = { projectId: PROJECT, name: "web", source: { type: "image", image: "nginx:1.27" }, port: 8080 }

const decode = (body: Record<string, unknown>) => Schema.decodeUnknownEither(CreateService, { errors: "all" })(body)

/** The first issue as the API reports it: `<path>: <message>`. */
const firstIssue = (body: Record<string, unknown>): string => {
  const r = decode(body)
  if (Either.isRight(r)) return "(accepted)"
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(r.left)
  return issue === undefined ? "(no issue)" : `${issue.path.map(String).join(".")}: ${issue.message}`
}

const accepted = (body: Record<string, unknown>) => {
  const r = decode(body)
  if (Either.isLeft(r)) throw new Error(ParseResult.TreeFormatter.formatErrorSync(r.left))
  return r.right
}

describe("service health", () => {
  it("defaults to HTTP GET / for a service with a port and to the settle check for a worker", () => {
    expect(accepted(base).health).toEqual({ type: "http", path: "/", timeoutSeconds: 30 })
    expect(accepted({ ...base, port: null }).health).toEqual({ type: "running", settleSeconds: 5 })
  })

  it("a health object without type is the HTTP check it always was (bodies and stored specs)", () => {
    expect(accepted({ ...base, health: { path: "/ready", timeoutSeconds: 10 } }).health).toEqual({
      type: "http",
      path: "/ready",
      timeoutSeconds: 10
    })
    const stored = Schema.decodeUnknownSync(Schema.parseJson(ServiceSpecDocument))(
      JSON.stringify({ source: { type: "image", image: "nginx:1.27" }, port: 8080, health: { path: "/h", timeoutSeconds: 5 } })
    )
    expect(stored.health).toEqual({ type: "http", path: "/h", timeoutSeconds: 5 })
    expect(stored.capabilities).toEqual({})
    expect(stored.shmMb).toBe(64)
    const oldWorkerless = Schema.decodeUnknownSync(Schema.parseJson(ServiceSpecDocument))(
      JSON.stringify({ source: { type: "image", image: "nginx:1.27" }, port: null })
    )
    expect(oldWorkerless.health).toEqual({ type: "running", settleSeconds: 5 })
  })

  it("tcp and running checks decode with their defaults", () => {
    expect(accepted({ ...base, health: { type: "tcp" } }).health).toEqual({ type: "tcp", timeoutSeconds: 30 })
    expect(accepted({ ...base, port: null, health: { type: "running", settleSeconds: 2 } }).health).toEqual({
      type: "running",
      settleSeconds: 2
    })
  })

  it("every refusal names its field", () => {
    expect(firstIssue({ ...base, health: { type: "grpc" } })).toMatch(/^health\.type: /)
    expect(firstIssue({ ...base, health: { type: "http", path: "ready" } })).toMatch(/^health\.path: /)
    expect(firstIssue({ ...base, health: { path: "ready" } })).toMatch(/^health\.path: /)
    expect(firstIssue({ ...base, health: { type: "tcp", timeoutSeconds: 0 } })).toMatch(/^health\.timeoutSeconds: /)
    expect(firstIssue({ ...base, health: { type: "tcp", path: "/" } })).toMatch(/^health\.path: is unexpected/)
    expect(firstIssue({ ...base, port: null, health: { type: "running", settleSeconds: -1 } })).toMatch(/^health\.settleSeconds: /)
    expect(firstIssue({ ...base, health: "tcp" })).toMatch(/^health: /)
  })
})

describe("workers (port: null)", () => {
  it("a worker with an HTTP or TCP check is refused at health.type", () => {
    expect(firstIssue({ ...base, port: null, health: { type: "http", path: "/" } })).toMatch(/^health\.type: a worker \(port: null\)/)
    expect(firstIssue({ ...base, port: null, health: { type: "tcp" } })).toMatch(/^health\.type: a worker/)
    expect(firstIssue({ ...base, port: null, health: { path: "/" } })).toMatch(/^health\.type: /)
  })

  it("the settle check belongs to workers", () => {
    expect(firstIssue({ ...base, health: { type: "running" } })).toMatch(/^health\.type: "running" is the check of workers/)
  })

  it("a worker has no TLS route and no ports to publish", () => {
    expect(firstIssue({ ...base, port: null, tlsEnabled: true })).toMatch(/^tlsEnabled: a worker/)
    expect(firstIssue({ ...base, port: null, endpoints: [{ protocol: "tcp", port: 5432 }] })).toMatch(/^endpoints: a worker/)
  })

  it("port is still required (null for a worker) and range-checked", () => {
    expect(firstIssue({ ...base, port: undefined })).toMatch(/^port: /)
    expect(firstIssue({ ...base, port: 0 })).toMatch(/^port: port must be between 1 and 65535/)
  })
})

describe("capabilities", () => {
  it("add and drop take canonical names (case and CAP_ prefix do not matter)", () => {
    const s = accepted({ ...base, capabilities: { add: ["cap_net_admin", "sys_nice"], drop: ["NET_RAW"] } })
    expect(s.capabilities).toEqual({ add: ["NET_ADMIN", "SYS_NICE"], drop: ["NET_RAW"] })
  })

  it("forbidden and unknown names are refused at their index", () => {
    for (
      const forbidden of ["SYS_ADMIN", "SYS_MODULE", "SYS_BOOT", "SYS_RAWIO", "SYS_TIME", "MAC_ADMIN", "MAC_OVERRIDE", "BPF", "PERFMON"]
    ) {
      expect(firstIssue({ ...base, capabilities: { add: ["NET_ADMIN", forbidden] } })).toMatch(
        new RegExp(`^capabilities\\.add\\.1: ${forbidden} is never granted`)
      )
    }
    expect(firstIssue({ ...base, capabilities: { add: ["FLY"] } })).toMatch(
      /^capabilities\.add\.0: FLY is not a capability a service may add/
    )
    expect(firstIssue({ ...base, capabilities: { drop: ["NET_ADMIN"] } })).toMatch(
      /^capabilities\.drop\.0: NET_ADMIN is not in the default set/
    )
    expect(firstIssue({ ...base, capabilities: { add: ["NET_RAW"], drop: ["net_raw"] } })).toMatch(
      /^capabilities\.add\.0: NET_RAW is both added and dropped/
    )
    expect(firstIssue({ ...base, capabilities: { add: "NET_ADMIN" } })).toMatch(/^capabilities\.add: /)
  })

  it("resolves against the engine default set; drop ALL is none", () => {
    expect(resolveCapabilities({})).toEqual([
      "CHOWN",
      "DAC_OVERRIDE",
      "FOWNER",
      "FSETID",
      "KILL",
      "SETGID",
      "SETUID",
      "SETPCAP",
      "NET_BIND_SERVICE",
      "NET_RAW",
      "SYS_CHROOT",
      "MKNOD",
      "AUDIT_WRITE",
      "SETFCAP"
    ])
    expect(resolveCapabilities({ drop: ["ALL"] })).toEqual([])
    expect(resolveCapabilities({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] })).toEqual(["NET_BIND_SERVICE"])
    const r = resolveCapabilities({ drop: ["NET_RAW", "MKNOD"], add: ["SYS_PTRACE"] })
    expect(r).not.toContain("NET_RAW")
    expect(r).not.toContain("MKNOD")
    expect(r[r.length - 1]).toBe("SYS_PTRACE")
    expect(describeCapabilities({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] })).toBe("none + NET_BIND_SERVICE")
  })
})

describe("shmMb", () => {
  it("defaults to 64 MiB and must fit the service's memory limit", () => {
    expect(accepted(base).shmMb).toBe(64)
    expect(accepted({ ...base, shmMb: 256, limits: { memoryMb: 512 } }).shmMb).toBe(256)
    expect(firstIssue({ ...base, shmMb: 0 })).toMatch(/^shmMb: /)
    expect(firstIssue({ ...base, shmMb: 1.5 })).toMatch(/^shmMb: shmMb must be an integer/)
    expect(firstIssue({ ...base, shmMb: 1024, limits: { memoryMb: 512 } })).toMatch(/^shmMb: must not exceed limits\.memoryMb \(512\)/)
  })
})

describe("PATCH and read shapes", () => {
  it("a PATCH may set port null, a health union, capabilities and shm", () => {
    const patch = Schema.decodeUnknownSync(UpdateService)({
      port: null,
      health: { type: "running", settleSeconds: 1 },
      capabilities: { drop: ["ALL"] },
      shmMb: 8
    })
    expect(patch.port).toBeNull()
    expect(
      specProblem({
        port: null,
        health: { type: "http", path: "/", timeoutSeconds: 1 },
        tlsEnabled: false,
        endpoints: [],
        shmMb: 1,
        limits: null
      })
    )
      .toEqual({ field: "health.type", message: expect.stringMatching(/^a worker/) })
  })

  it("a service read from an older daemon (no capabilities/shmMb, health without type) decodes", () => {
    const s = Schema.decodeUnknownSync(Service)({
      id: PROJECT,
      projectId: PROJECT,
      name: "web",
      source: { type: "hosted", tag: "v1" },
      port: 8080,
      env: {},
      limits: null,
      health: { path: "/", timeoutSeconds: 30 },
      tlsEnabled: false,
      autoscale: null,
      endpoints: [],
      promotedDeploymentId: null,
      previousDeploymentId: null,
      createdAt: "",
      updatedAt: ""
    })
    expect(describeHealth(s.health)).toBe("HTTP GET / (30 s)")
    expect(s.capabilities).toEqual({})
  })
})
