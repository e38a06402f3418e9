import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "vitest"
import { DeniaApi } from "../../../src/api/definition/DeniaApi.js"
import { endpointAccess } from "../../../src/api/server/accessRules.js"

describe("API definition", () => {
  const endpoints = endpointAccess()

  it("declares an access rule on every endpoint", () => {
    const missing = endpoints.filter((e) => e.rule === undefined).map((e) => `${e.method} ${e.path}`)
    expect(missing).toEqual([])
  })

  it("puts every non-public endpoint behind the Authorization middleware, and only those", () => {
    for (const e of endpoints) {
      expect(e.authenticated, `${e.method} ${e.path}`).toBe(e.rule?.kind !== "public")
    }
  })

  it("keeps /v1 behind authentication except the documented public routes", () => {
    const publicRoutes = endpoints.filter((e) => e.rule?.kind === "public").map((e) => `${e.method} ${e.path}`)
    expect(publicRoutes.sort()).toEqual([
      "GET /healthz",
      "GET /v1/openapi.json",
      "GET /v1/setup-status",
      "POST /v1/auth/login",
      // webhook deliveries: authenticated by the per-service secret in the path and the forge signature
      "POST /v1/hooks/:serviceId/:secret"
    ])
  })

  it("generates a valid OpenAPI document listing every route", () => {
    const spec = OpenApi.fromApi(DeniaApi) as unknown as {
      openapi: string
      info: { title: string }
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
    }
    expect(spec.openapi).toMatch(/^3\.1\./)
    expect(spec.info.title).toBe("Denia API")
    for (const e of endpoints) {
      const openapiPath = e.path.replace(/:(\w+)/g, "{$1}")
      const op = spec.paths[openapiPath]?.[e.method.toLowerCase()]
      expect(op, `${e.method} ${openapiPath}`).toBeDefined()
      if (e.rule?.kind !== "public") expect(Object.keys(op?.responses ?? {})).toContain("401")
    }
    // the error envelope is the documented shape
    const created = spec.paths["/v1/services"]?.["post"]?.responses ?? {}
    expect(JSON.stringify(created["400"])).toContain("error")
    expect(Object.keys(created)).toEqual(expect.arrayContaining(["201", "400", "404", "409", "413"]))
  })
})
