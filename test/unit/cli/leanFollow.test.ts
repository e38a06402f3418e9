/**
 * The lean push's follow (leanFollow.ts, ADR 0812): SSE events split as deployments.ts `followSse` splits
 * them, the end event decoded, the URL as serviceView.ts `serviceUrl` makes it; and the whole follow
 * against a small SSE server.
 */
import * as http from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import { decodeFinal, followLog, leanServiceUrl, parseEvents } from "../../../src/cli/client/leanFollow.js"
import { serviceUrl } from "../../../src/cli/client/serviceView.js"
import type { Service } from "../../../src/domain/service.js"

const servers: Array<http.Server> = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

describe("the lean push's follow", () => {
  it("splits log events, keeps an unfinished tail, and stops at the end event", () => {
    expect(parseEvents(": stream open\nretry: 2000\n\nid: 5\nevent: log\ndata: one\n\nid: 9\nevent: log\ndata: tw"))
      .toEqual({ lines: ["one"], end: undefined, rest: "id: 9\nevent: log\ndata: tw" })
    expect(parseEvents("event: log\ndata: two\n\n: keep-alive\n\nevent: end\ndata: {\"status\":\"healthy\"}\n\nevent: log\ndata: x\n\n"))
      .toEqual({ lines: ["two"], end: "{\"status\":\"healthy\"}", rest: "" })
  })

  it("decodes the end event's status and error, and nothing else", () => {
    expect(decodeFinal("{\"status\":\"failed\",\"error\":\"boom\"}")).toEqual({ status: "failed", error: "boom" })
    expect(decodeFinal("{}")).toEqual({})
    expect(decodeFinal("{\"status\":1}")).toBeUndefined()
    expect(decodeFinal("[]")).toBeUndefined()
    expect(decodeFinal("nope")).toBeUndefined()
  })

  it("makes the URL serviceView.ts makes without a route", () => {
    const hints = { baseDomain: "Apps.Test", httpPort: 8080, httpsPort: 443 }
    for (
      const s of [{ name: "web", port: 8080, tlsEnabled: false }, { name: "web", port: 8080, tlsEnabled: true }, {
        name: "w",
        port: null,
        tlsEnabled: false
      }]
    ) {
      for (const h of [hints, undefined]) {
        // serviceUrl reads only these fields of the service
        const full = serviceUrl({ ...s } as unknown as Service, "default", undefined, h)
        expect(leanServiceUrl(s, "default", h)).toBe(full)
      }
    }
  })

  it("follows a log stream to its end event, handing over the lines of each read", async () => {
    const server = http.createServer((req, res) => {
      expect(req.headers.authorization).toBe("Bearer tok")
      res.writeHead(200, { "content-type": "text/event-stream" })
      res.write(": stream open\n\nevent: log\ndata: first\n\n")
      setTimeout(() => res.write("event: log\ndata: second\n\nevent: end\ndata: {\"status\":\"healthy\"}\n\n"), 20)
    })
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const { port } = server.address() as { port: number }
    const seen: Array<string> = []
    const final = await followLog({ url: `http://127.0.0.1:${port}`, token: "tok" }, "/v1/deployments/x/logs", (l) => seen.push(...l))
    expect(final).toEqual({ status: "healthy" })
    expect(seen).toEqual(["first", "second"])
  })

  it("rejects with the daemon's status when the stream is refused", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(404)
      res.end()
    })
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
    const { port } = server.address() as { port: number }
    await expect(followLog({ url: `http://127.0.0.1:${port}`, token: "t" }, "/x", () => undefined)).rejects.toThrow(
      "the daemon answered HTTP 404"
    )
  })
})
