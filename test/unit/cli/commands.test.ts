import { Option, type ParseResult, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { parseAssignments } from "../../../src/cli/client/env.js"
import { describeError } from "../../../src/cli/client/errors.js"
import { parseServiceRef } from "../../../src/cli/client/resolve.js"
import { type CreateFlags, firstProblem, mergeCreateBody } from "../../../src/cli/client/services.js"
import { serviceUrl, stateLabel } from "../../../src/cli/client/serviceView.js"
import { CreateService, type Service } from "../../../src/domain/service.js"

const none: CreateFlags = { image: Option.none(), source: Option.none(), tag: Option.none(), registry: Option.none(), port: Option.none() }
const PID = "0190a3e2-0000-7000-8000-000000000001"

describe("service references", () => {
  it("reads a name, project/name and an id", () => {
    expect(parseServiceRef("web")).toEqual({ project: undefined, service: "web" })
    expect(parseServiceRef("default/web")).toEqual({ project: "default", service: "web" })
    expect(parseServiceRef(PID)).toEqual({ id: PID })
    expect(parseServiceRef("a/b/c")).toHaveProperty("invalid")
    expect(parseServiceRef("/web")).toHaveProperty("invalid")
  })
})

describe("services create: --spec and flags", () => {
  it("flags win over the spec, port defaults to 8080", () => {
    const r = mergeCreateBody({ port: 9000, source: { type: "image", image: "a:1" } }, { ...none, image: Option.some("b:2") }, PID, "web")
    expect(r).toEqual({ body: { projectId: PID, name: "web", port: 9000, source: { type: "image", image: "b:2" } } })
    const p = mergeCreateBody({ port: 9000, source: { type: "hosted" } }, { ...none, port: Option.some(80) }, PID, "web")
    expect(p).toMatchObject({ body: { port: 80, source: { type: "hosted" } } })
    expect(mergeCreateBody({}, { ...none, source: Option.some("hosted"), tag: Option.some("v1") }, PID, "web")).toMatchObject({
      body: { port: 8080, source: { type: "hosted", tag: "v1" } }
    })
  })

  it("says which field is missing or contradictory", () => {
    expect(mergeCreateBody({}, none, PID, "web")).toEqual({
      error: expect.stringMatching(/^source is missing: give --image REF, or --source hosted/)
    })
    expect(mergeCreateBody({}, { ...none, source: Option.some("image") }, PID, "web")).toEqual({
      error: expect.stringMatching(/^source.image is missing/)
    })
    expect(mergeCreateBody({}, { ...none, source: Option.some("hosted"), image: Option.some("x") }, PID, "web")).toHaveProperty("error")
  })

  it("a decoding problem is one line naming the field", () => {
    const e = Schema.decodeUnknownEither(CreateService, { errors: "first" })({
      projectId: PID,
      name: "Web!",
      port: 1,
      source: { type: "hosted" }
    })
    if (e._tag !== "Left") throw new Error("expected a failure")
    const line = firstProblem(e.left as ParseResult.ParseError)
    expect(line.startsWith("name")).toBe(true)
    expect(line).not.toContain("\n")
  })
})

describe("env assignments", () => {
  it("split at the first '='", () => {
    expect(parseAssignments(["A=1", "B=x=y", "C="])).toEqual({ env: { A: "1", B: "x=y", C: "" } })
    expect(parseAssignments(["=1"])).toHaveProperty("error")
    expect(parseAssignments(["NOEQ"])).toHaveProperty("error")
  })
})

describe("errors are one line", () => {
  it("API envelope, parse errors and multi-line messages", () => {
    expect(describeError({ code: "not_found", message: "service x not found" })).toBe("service x not found (not_found)")
    expect(describeError({ _tag: "ParseError", message: "Expected A\n└─ at B\n   └─ C" })).toBe(
      "unexpected answer from the daemon (Expected A)"
    )
    expect(describeError(new Error("first\nsecond"))).toBe("first")
  })
})

const service = (over: Partial<Service>): Service => ({
  id: PID,
  projectId: PID,
  name: "web",
  source: { type: "hosted", tag: "v1" },
  port: 8080,
  env: {},
  limits: null,
  health: { type: "http", path: "/", timeoutSeconds: 30 },
  tlsEnabled: false,
  autoscale: null,
  endpoints: [],
  volumes: [],
  capabilities: {},
  shmMb: 64,
  promotedDeploymentId: null,
  previousDeploymentId: null,
  createdAt: "",
  updatedAt: "",
  ...over
})

const status = (state: NonNullable<Service["status"]>["state"], more: Partial<NonNullable<Service["status"]>> = {}): Service["status"] => ({
  state,
  readyReplicas: 1,
  desiredReplicas: 2,
  restarts: 0,
  liveDeploymentId: null,
  pendingChanges: false,
  ...more
})

describe("service state and URL in lists", () => {
  it("shows the API's status, or derives it from the promoted deployment", () => {
    expect(stateLabel(service({ status: status("running") }))).toBe("running 1/2")
    expect(stateLabel(service({ status: status("crashloop", { restarts: 4 }) }))).toBe("crashloop (4 restarts)")
    expect(stateLabel(service({ status: status("never-deployed") }))).toBe("never deployed")
    expect(stateLabel(service({ status: status("stopped") }))).toBe("stopped")
    expect(stateLabel(service({ status: status("failed") }))).toBe("failed")
    expect(stateLabel(service({}))).toBe("-")
    expect(stateLabel(service({ promotedDeploymentId: PID }))).toBe("running")
  })

  it("URL: the ingress route, else the local base domain and port, else the pattern", () => {
    const s = service({})
    expect(serviceUrl(s, "default", { hostname: "web.default.example.com", tlsEnabled: true }, undefined)).toBe(
      "https://web.default.example.com"
    )
    expect(serviceUrl(s, "default", undefined, { baseDomain: "localhost", httpPort: 8081, httpsPort: 443 })).toBe(
      "http://web.default.localhost:8081"
    )
    expect(serviceUrl(s, "default", undefined, { baseDomain: "localhost", httpPort: 80, httpsPort: 443 })).toBe(
      "http://web.default.localhost"
    )
    expect(serviceUrl(s, "default", undefined, undefined)).toBe("http://web.default.<base_domain>")
    // a worker has no route
    expect(serviceUrl(service({ port: null }), "default", undefined, { baseDomain: "localhost", httpPort: 80, httpsPort: 443 })).toBe(
      "- (worker)"
    )
  })
})
