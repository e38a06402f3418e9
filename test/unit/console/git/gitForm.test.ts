/** The service form's Git auto-deploy settings: state → API source, round trip, and the API's own checks. */
import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { emptyServiceForm, formToCreate, type ServiceFormState, serviceToForm } from "../../../../console/src/lib/serviceForm.js"
import { CreateService, Service } from "../../../../src/domain/service.js"

const PROJECT = "0190aaaa-0000-7000-8000-000000000001"
const git = (patch: Partial<ServiceFormState>): ServiceFormState => ({
  ...emptyServiceForm(PROJECT),
  name: "site",
  sourceType: "git",
  gitUrl: "https://git.example/site.git",
  gitRef: "main",
  ...patch
})

describe("git auto-deploy in the service form", () => {
  it("off leaves it out; poll carries branch/tag pattern/interval; webhook drops the interval", () => {
    expect(formToCreate(git({})).source).not.toHaveProperty("autoDeploy")
    expect(formToCreate(git({ gitAutoDeploy: "poll", gitAutoTagPattern: "v*", gitAutoInterval: "60" })).source).toMatchObject({
      autoDeploy: { mode: "poll", tagPattern: "v*", intervalSeconds: 60 }
    })
    expect(formToCreate(git({ gitAutoDeploy: "webhook", gitAutoBranch: "prod", gitAutoInterval: "60" })).source).toMatchObject({
      autoDeploy: { mode: "webhook", branch: "prod" }
    })
  })

  it("the body passes the API schema and comes back as the same form", () => {
    const form = git({ gitAutoDeploy: "poll", gitAutoBranch: "prod", gitAutoInterval: "120" })
    const decoded = Schema.decodeUnknownEither(CreateService)(formToCreate(form))
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isLeft(decoded)) return
    const service = Schema.decodeUnknownSync(Service)({
      ...decoded.right,
      id: "0190aaaa-0000-7000-8000-000000000002",
      promotedDeploymentId: null,
      previousDeploymentId: null,
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z"
    })
    expect(serviceToForm(service)).toMatchObject({ gitAutoDeploy: "poll", gitAutoBranch: "prod", gitAutoInterval: "120" })
  })

  it("the API refuses what the forge or git would misread, naming the field", () => {
    const bad = (patch: Partial<ServiceFormState>) => {
      const r = Schema.decodeUnknownEither(CreateService, { errors: "first" })(formToCreate(git(patch)))
      return Either.isLeft(r) ? r.left.message : "accepted"
    }
    expect(bad({ gitAutoDeploy: "poll", gitAutoInterval: "1" })).toContain("intervalSeconds must be an integer between 10 and 86400")
    expect(bad({ gitAutoDeploy: "poll", gitAutoBranch: "a", gitAutoTagPattern: "v*" })).toContain(
      "tagPattern and branch exclude each other"
    )
    expect(bad({ gitRef: "--upload-pack=x" })).toContain("ref must be a branch, tag or commit name")
    expect(bad({ gitUrl: "https://user:token@git.example/site.git" })).toContain("must not carry credentials")
  })
})
