import * as http from "node:http"
import { request } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SsrfBlocked } from "../../../src/oci/ssrf.js"
import { toOciError, Transport } from "../../../src/oci/transport.js"

describe("Transport connect-time guard (DNS rebinding)", () => {
  let server: http.Server
  let port = 0
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end("ok"))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const a = server.address()
    port = typeof a === "object" && a !== null ? a.port : 0
  })
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())))

  it("refuses at connect time when a name resolves to an internal address, even without the pre-check", async () => {
    const t = new Transport({ policy: { allowed: [] }, maxAttempts: 1 })
    try {
      // bypass Transport.checkUrl: go straight to the agent, as a rebinding answer would
      const err = await request(`http://localhost:${port}/`, { dispatcher: t.agent }).then(
        () => undefined,
        (e: unknown) => e
      )
      let cur: unknown = err
      let found = false
      for (let i = 0; i < 5 && cur instanceof Error; i++) {
        if (cur instanceof SsrfBlocked) found = true
        cur = cur.cause
      }
      expect(found).toBe(true)
      expect(toOciError(err, "localhost")._tag).toBe("denia/oci/SsrfRefused")
    } finally {
      await t.close()
    }
  })

  it("connects when the host is allow-listed", async () => {
    const t = new Transport({ policy: { allowed: [`localhost:${port}`] }, maxAttempts: 1 })
    try {
      const res = await t.send(new URL(`http://localhost:${port}/`), { registry: "localhost" })
      expect(await res.body.text()).toBe("ok")
    } finally {
      await t.close()
    }
  })

  it("refuses plain HTTP to hosts that are not allow-listed", async () => {
    const t = new Transport({ policy: { allowed: [] }, maxAttempts: 1 })
    try {
      const err = await t.send(new URL("http://example.com/"), { registry: "example.com" }).then(
        () => undefined,
        (e: unknown) => e
      )
      expect(toOciError(err, "example.com")._tag).toBe("denia/oci/SsrfRefused")
    } finally {
      await t.close()
    }
  })
})
