/** The service form model: state → API body for every source type, edit round-trip, error placement. */
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { issuesByField, toApiFailure } from "../../../console/src/api/failure.js"
import {
  emptyServiceForm,
  errorFor,
  formToCreate,
  formToSpec,
  isFieldKnown,
  localIssues,
  type ServiceFormState,
  serviceToForm
} from "../../../console/src/lib/serviceForm.js"
import { CreateService, Service, UpdateService } from "../../../src/domain/service.js"

const PROJECT = "0190aaaa-0000-7000-8000-000000000001"
const base = (patch: Partial<ServiceFormState>): ServiceFormState => ({
  ...emptyServiceForm(PROJECT),
  name: "api",
  image: "registry.example/app:1.2",
  ...patch
})

/** What the typed client does before sending: encode with the API schema. */
const encodeCreate = (f: ServiceFormState) => Schema.encodeUnknownEither(CreateService)(formToCreate(f))

describe("service form model", () => {
  it("builds a valid create body for each source type", () => {
    const cases: ReadonlyArray<[Partial<ServiceFormState>, unknown]> = [
      [{ sourceType: "image" }, { type: "image", image: "registry.example/app:1.2", registryId: null }],
      [{ sourceType: "hosted", tag: "v2" }, { type: "hosted", tag: "v2" }],
      [
        {
          sourceType: "git",
          gitUrl: "https://example.com/org/app.git",
          gitRef: "main",
          gitDockerfile: "docker/Dockerfile",
          gitContext: "app",
          gitCredentialRef: ""
        },
        {
          type: "git",
          url: "https://example.com/org/app.git",
          ref: "main",
          dockerfile: "docker/Dockerfile",
          context: "app",
          credentialRef: null
        }
      ],
      [{ sourceType: "upload", uploadDockerfile: "", uploadContext: "" }, { type: "upload", dockerfile: "Dockerfile", context: "." }]
    ]
    for (const [patch, source] of cases) {
      const body = formToCreate(base(patch))
      expect(body.source).toEqual(source)
      expect(Either.isRight(encodeCreate(base(patch))), JSON.stringify(patch)).toBe(true)
    }
  })

  it("maps optional numbers, env rows, autoscale and endpoints", () => {
    const spec = formToSpec(
      base({
        port: " 3000 ",
        env: [
          { key: "A", value: "1" },
          { key: "", value: "" }
        ],
        cpuMillis: "500",
        memoryMb: "",
        pids: "64",
        autoscaleEnabled: true,
        minReplicas: "0",
        maxReplicas: "3",
        idleSeconds: "120",
        endpoints: [{ protocol: "udp", port: "25565" }]
      })
    )
    expect(spec).toMatchObject({
      port: 3000,
      env: { A: "1" },
      limits: { cpuMillis: 500, pids: 64 },
      autoscale: { minReplicas: 0, maxReplicas: 3, idleSeconds: 120 },
      endpoints: [{ protocol: "udp", port: 25565 }]
    })
    expect(spec.limits).not.toHaveProperty("memoryMb")
    expect(spec.autoscale).not.toHaveProperty("cpuTargetPercent")
    expect(formToSpec(base({})).limits).toBeNull()
    expect(formToSpec(base({})).autoscale).toBeNull()
  })

  it("round-trips a worker and a TCP service (health kind, capabilities, shm) through the edit form", () => {
    const decode = (over: Record<string, unknown>) =>
      Schema.decodeUnknownSync(Service)({
        id: "0190aaaa-0000-7000-8000-000000000003",
        projectId: PROJECT,
        name: "jobs",
        source: { type: "hosted", tag: "v1" },
        env: {},
        limits: null,
        tlsEnabled: false,
        autoscale: null,
        endpoints: [],
        promotedDeploymentId: null,
        previousDeploymentId: null,
        createdAt: "2026-01-01T00:00:00Z",
        updatedAt: "2026-01-01T00:00:00Z",
        ...over
      })
    const worker = decode({ port: null, health: { type: "running", settleSeconds: 9 }, capabilities: { drop: ["ALL"] }, shmMb: 16 })
    const form = serviceToForm(worker)
    expect([form.worker, form.settleSeconds, form.capDrop, form.shmMb]).toEqual([true, "9", "ALL", "16"])
    expect(formToSpec(form)).toMatchObject({
      port: null,
      health: { type: "running", settleSeconds: 9 },
      capabilities: { drop: ["ALL"] },
      shmMb: 16
    })
    const tcp = decode({ port: 6379, health: { type: "tcp", timeoutSeconds: 12 }, capabilities: { add: ["SYS_NICE"] } })
    const tcpSpec = formToSpec(serviceToForm(tcp))
    expect(tcpSpec).toMatchObject({ port: 6379, health: { type: "tcp", timeoutSeconds: 12 }, capabilities: { add: ["SYS_NICE"] } })
    expect(Either.isRight(Schema.encodeUnknownEither(UpdateService)(tcpSpec))).toBe(true)
  })

  it("round-trips a service through the edit form into a valid PATCH body", () => {
    const service = Schema.decodeUnknownSync(Service)({
      id: "0190aaaa-0000-7000-8000-000000000002",
      projectId: PROJECT,
      name: "worker",
      source: {
        type: "git",
        url: "git@example.com:org/w.git",
        ref: "v1",
        dockerfile: "Dockerfile",
        context: ".",
        credentialRef: "deploy-key",
        buildSecrets: [{ id: "npm", secret: "NPM_TOKEN" }, { id: "pip", secret: "pip" }]
      },
      port: 9000,
      env: { X: "y" },
      limits: { memoryMb: 256 },
      health: { path: "/ready", timeoutSeconds: 10 },
      tlsEnabled: true,
      autoscale: { minReplicas: 1, maxReplicas: 4, cpuTargetPercent: 70 },
      endpoints: [{ protocol: "tcp", port: 5432 }],
      promotedDeploymentId: null,
      previousDeploymentId: null,
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z"
    })
    const spec = formToSpec(serviceToForm(service))
    expect(spec).toEqual({
      source: service.source,
      port: 9000,
      env: { X: "y" },
      limits: { memoryMb: 256 },
      health: { type: "http", path: "/ready", timeoutSeconds: 10 },
      tlsEnabled: true,
      autoscale: { minReplicas: 1, maxReplicas: 4, cpuTargetPercent: 70 },
      endpoints: [{ protocol: "tcp", port: 5432 }],
      // the edit form owns the volumes too: none here, so the PATCH says none
      volumes: [],
      capabilities: {},
      shmMb: 64
    })
    expect(Either.isRight(Schema.encodeUnknownEither(UpdateService)(spec))).toBe(true)
  })

  it("keeps and edits build secrets of git and upload sources", () => {
    const upload = base({ sourceType: "upload", buildSecrets: " npm=NPM_TOKEN, pip " })
    expect(formToSpec(upload).source).toEqual({
      type: "upload",
      dockerfile: "Dockerfile",
      context: ".",
      buildSecrets: [{ id: "npm", secret: "NPM_TOKEN" }, { id: "pip", secret: "pip" }]
    })
    expect(formToSpec(base({ sourceType: "upload", buildSecrets: "  " })).source).not.toHaveProperty("buildSecrets")
    // an image source has none, whatever the (hidden) input says
    expect(formToSpec(base({ sourceType: "image", buildSecrets: "npm" })).source).not.toHaveProperty("buildSecrets")
  })

  it("turns the API schema's refusals into issues at the right field", () => {
    const cases: ReadonlyArray<[Partial<ServiceFormState>, string, RegExp]> = [
      [{ port: "0" }, "port", /between 1 and 65535/],
      [{ port: "abc" }, "port", /integer/],
      [{ name: "Bad_Name" }, "name", /a-z, 0-9/],
      [{ image: "UPPER/Case::x" }, "source", /image reference/],
      [{ sourceType: "git", gitUrl: "ftp://example.com/x" }, "source", /git url/],
      [{ healthPath: "ready" }, "health", /start with '\/'/],
      [{ cpuMillis: "-5" }, "limits", /cpuMillis/],
      [{ autoscaleEnabled: true, minReplicas: "5", maxReplicas: "2" }, "autoscale", /minReplicas must not exceed maxReplicas/],
      [{ env: [{ key: "A=B", value: "1" }] }, "env", /./],
      [{ endpoints: [{ protocol: "tcp", port: "99999" }] }, "endpoints", /between 1 and 65535/]
    ]
    for (const [patch, field, message] of cases) {
      const result = encodeCreate(base(patch))
      if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(patch)} to be refused`)
      const failure = toApiFailure(result.left)
      expect(failure.code).toBe("INVALID_INPUT")
      expect(failure.issues.every((i) => isFieldKnown(i.field)), JSON.stringify(failure.issues)).toBe(true)
      expect(errorFor(issuesByField(failure), field), JSON.stringify(failure.issues)).toMatch(message)
    }
  })

  it("checks env keys before sending, in the API's words", () => {
    const env = (rows: ServiceFormState["env"]) => localIssues(base({ env: rows }))
    expect(env([{ key: "A", value: "1" }, { key: "A", value: "2" }])).toEqual([{ field: "env", message: "env key \"A\" is listed twice" }])
    expect(env([{ key: "A=B", value: "1" }])).toEqual([{ field: "env", message: `env key "A=B" must not contain '='` }])
    expect(env([{ key: "", value: "x" }])).toEqual([{ field: "env", message: "env keys must not be empty" }])
    expect(env([{ key: "A", value: "1" }, { key: "", value: "" }])).toEqual([])
  })

  it("finds an input's error at or under its path", () => {
    const issues = { "source.image": "bad image", "env[\"A=B\"]": "bad key", "endpoints[1].port": "bad port" }
    expect(errorFor(issues, "source.image")).toBe("bad image")
    expect(errorFor(issues, "source")).toBe("bad image")
    expect(errorFor(issues, "env")).toBe("bad key")
    expect(errorFor(issues, "endpoints")).toBe("bad port")
    expect(errorFor(issues, "port")).toBeUndefined()
  })
})
