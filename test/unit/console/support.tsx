/**
 * Component-test harness: a fake daemon behind `fetch` (the console's real
 * typed client encodes requests and decodes responses with the API schemas,
 * so fixtures must match them), a fresh query cache and an in-memory router.
 */
import { createMemoryHistory, MemoryRouter, Route } from "@solidjs/router"
import { render } from "@solidjs/testing-library"
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query"
import type { Component } from "solid-js"
import { vi } from "vitest"
import { configureClient } from "../../../console/src/api/client.js"

export const BASE = "http://console.test"

export interface Recorded {
  readonly method: string
  readonly path: string
  readonly search: URLSearchParams
  readonly body: unknown
}

export type Reply = { readonly status?: number; readonly json?: unknown; readonly text?: string; readonly headers?: Record<string, string> }

/** `route` answers each request (undefined: 404 in the API's envelope); every request is recorded. */
export const fakeDaemon = (route: (r: Recorded) => Reply | undefined) => {
  const calls: Array<Recorded> = []
  const unauthorized: Array<number> = []
  vi.stubGlobal("fetch", async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url)
    const raw = init?.body
    // Bodies may be typed arrays of another realm (jsdom's), so no `instanceof`.
    const text = typeof raw === "string"
      ? raw
      : raw !== undefined && raw !== null && ArrayBuffer.isView(raw)
      ? new TextDecoder().decode(raw)
      : undefined
    const rec: Recorded = {
      method: (init?.method ?? "GET").toUpperCase(),
      path: url.pathname,
      search: url.searchParams,
      body: text === undefined || text === "" ? undefined : JSON.parse(text)
    }
    calls.push(rec)
    const reply = route(rec) ?? { status: 404, json: { error: { code: "NOT_FOUND", message: `${rec.method} ${rec.path} not found` } } }
    const status = reply.status ?? 200
    if (status === 204) return new Response(null, { status })
    return new Response(reply.text ?? JSON.stringify(reply.json ?? {}), {
      status,
      headers: { "content-type": reply.text === undefined ? "application/json" : "text/plain", ...reply.headers }
    })
  })
  configureClient({ baseUrl: BASE, token: () => "session-token", onUnauthorized: () => unauthorized.push(Date.now()) })
  return { calls, unauthorized, find: (method: string, path: string) => calls.filter((c) => c.method === method && c.path === path) }
}

/** Renders `component` at `path` (matched by `pattern`), plus any extra routes, under a fresh query cache. */
export const renderAt = (path: string, pattern: string, component: Component, extra: Record<string, Component> = {}) => {
  const history = createMemoryHistory()
  history.set({ value: path })
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } })
  render(() => (
    <QueryClientProvider client={client}>
      <MemoryRouter history={history}>
        <Route path={pattern} component={component} />
        {Object.entries(extra).map(([p, c]) => <Route path={p} component={c} />)}
      </MemoryRouter>
    </QueryClientProvider>
  ))
  return { history, client }
}

export const NOW = "2026-12-01T12:00:00.000Z"
export const ids = {
  project: "0190aaaa-0000-7000-8000-000000000001",
  service: "0190aaaa-0000-7000-8000-000000000002",
  user: "0190aaaa-0000-7000-8000-000000000003",
  d1: "0190aaaa-0000-7000-8000-0000000000d1",
  d2: "0190aaaa-0000-7000-8000-0000000000d2",
  registry: "0190aaaa-0000-7000-8000-0000000000e1"
}

export const superAdminMe = {
  user: { id: ids.user, username: "root-admin", superAdmin: true, createdAt: NOW },
  superAdmin: true,
  memberships: [],
  credential: "session"
}
