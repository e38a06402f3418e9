/**
 * The follow half of `denia push` on the lean path (ADR 0812): the deployment log's Server-Sent Events
 * read with node:http(s), its lines printed as deployments.ts `writeLines` prints them, and the end
 * event's final status returned — what push.ts does through `followSse`, without Effect. Also the
 * service URL push.ts prints at `healthy` (serviceView.ts `serviceUrl` without a route).
 */
import * as http from "node:http"
import * as https from "node:https"
import { escapeControl, isTerminal } from "../terminal.js"
import type { LeanConnection, LeanIngressHints } from "./leanConnection.js"
import { defaultUrl } from "./serviceView.js"

export interface FinalStatus {
  readonly status?: string
  readonly error?: string
}

/** Prints log lines as they come: escaped on a terminal (tabs kept), as they are otherwise (deployments.ts `writeLines`). */
export const printLogLines = (lines: ReadonlyArray<string>): void => {
  if (lines.length === 0) return
  const tty = isTerminal(process.stdout)
  process.stdout.write(`${lines.map((l) => (tty ? escapeControl(l, { multiline: true }) : l)).join("\n")}\n`)
}

/** The `end` event's data; undefined when it is not `{status?, error?}` with string values. */
export const decodeFinal = (data: string): FinalStatus | undefined => {
  try {
    const v: unknown = JSON.parse(data)
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined
    const status: unknown = "status" in v ? v.status : undefined
    const error: unknown = "error" in v ? v.error : undefined
    if ((status !== undefined && typeof status !== "string") || (error !== undefined && typeof error !== "string")) return undefined
    return { ...(status === undefined ? {} : { status }), ...(error === undefined ? {} : { error }) }
  } catch {
    return undefined
  }
}

/**
 * Splits SSE text into events: the `log` lines of what arrived so far, and the end event's data once
 * it came. `rest` is the unfinished tail to prepend to the next chunk.
 */
export const parseEvents = (text: string): { lines: Array<string>; end: string | undefined; rest: string } => {
  const lines: Array<string> = []
  let buffer = text
  let cut: number
  while ((cut = buffer.indexOf("\n\n")) >= 0) {
    const event = buffer.slice(0, cut)
    buffer = buffer.slice(cut + 2)
    const kind = /^event: (.*)$/m.exec(event)?.[1]
    const data = /^data: (.*)$/m.exec(event)?.[1]
    if (kind === "end" && data !== undefined) return { lines, end: data, rest: "" }
    if (kind === "log" && data !== undefined) lines.push(data)
  }
  return { lines, end: undefined, rest: buffer }
}

/**
 * Follows `pathname` (a deployment's `/logs`), handing over the log lines of each network read;
 * resolves with the final status (undefined when the stream ends without one). Rejects with what
 * push.ts prints after `log stream failed: `.
 */
export const followLog = (
  connection: LeanConnection,
  pathname: string,
  onLines: (lines: ReadonlyArray<string>) => void
): Promise<FinalStatus | undefined> =>
  new Promise((resolve, reject) => {
    let settled = false
    const settle = (f: () => void) => {
      if (settled) return
      settled = true
      f()
    }
    const target = new URL(`${connection.url}${pathname}`)
    const req = (target.protocol === "https:" ? https : http).get(
      target,
      { headers: { authorization: `Bearer ${connection.token}` } },
      (res) => {
        const status = res.statusCode ?? 0
        if (status < 200 || status > 299) {
          res.resume()
          return settle(() => reject(new Error(`the daemon answered HTTP ${status}`)))
        }
        res.setEncoding("utf8")
        let rest = ""
        res.on("data", (chunk: string) => {
          if (settled) return
          const parsed = parseEvents(rest + chunk)
          rest = parsed.rest
          onLines(parsed.lines)
          if (parsed.end === undefined) return
          const final = decodeFinal(parsed.end)
          settle(() => (final === undefined ? reject(new Error("the end event is not understood")) : resolve(final)))
          req.destroy()
        })
        res.on("end", () => settle(() => resolve(undefined)))
        res.on("error", (e) => settle(() => reject(e)))
      }
    )
    req.on("error", (e) => settle(() => reject(e)))
  })

/** The URL push.ts prints: `<service>.<project>.<base_domain>` (the base domain left for the reader without hints). */
export const leanServiceUrl = (
  service: { readonly name: string; readonly port: number | null; readonly tlsEnabled: boolean },
  projectName: string,
  hints: LeanIngressHints | undefined
): string => {
  if (service.port === null) return "- (worker)"
  const base = hints?.baseDomain ?? "<base_domain>"
  return defaultUrl(`${service.name}.${projectName}.${base}`.toLowerCase(), service.tlsEnabled, hints)
}
