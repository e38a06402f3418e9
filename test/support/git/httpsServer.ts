/**
 * A Git server over HTTPS on 127.0.0.1: `git http-backend` (CGI) behind a
 * tiny Node HTTPS server with a throw-away self-signed certificate (the
 * daemon trusts it through `git_ca_file`). Optionally requires HTTP Basic
 * with a given password, and records the Authorization headers it saw.
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import * as path from "node:path"

export interface GitHttpsServer {
  readonly url: (repo: string) => string
  readonly caFile: string
  readonly port: number
  /** Authorization header values received (for "never sent elsewhere" checks). */
  readonly authorizations: Array<string>
  readonly requests: Array<string>
  readonly close: () => Promise<void>
}

/** A self-signed certificate for IP 127.0.0.1 in `dir` (cert.pem, key.pem). */
export const selfSignedCert = (dir: string) => {
  const cert = path.join(dir, "cert.pem")
  const key = path.join(dir, "key.pem")
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1"
  ], { stdio: "ignore" })
  return { cert, key }
}

export const startGitHttpsServer = async (
  dir: string,
  root: string,
  auth?: { readonly username?: string; readonly password: string }
): Promise<GitHttpsServer> => {
  const { cert, key } = selfSignedCert(dir)
  const authorizations: Array<string> = []
  const requests: Array<string> = []
  const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1")
    requests.push(`${req.method} ${url.pathname}`)
    const header = req.headers.authorization
    if (header !== undefined) authorizations.push(header)
    if (auth !== undefined) {
      const expected = `Basic ${Buffer.from(`${auth.username ?? "x-access-token"}:${auth.password}`).toString("base64")}`
      if (header !== expected) {
        res.writeHead(401, { "WWW-Authenticate": "Basic realm=\"git\"" })
        res.end()
        return
      }
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ""),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_ADDR: "127.0.0.1",
      REMOTE_USER: auth === undefined ? "" : "user"
    }
    const protocol = req.headers["git-protocol"]
    if (typeof protocol === "string") env.GIT_PROTOCOL = protocol
    const encoding = req.headers["content-encoding"]
    if (typeof encoding === "string") env.HTTP_CONTENT_ENCODING = encoding
    const cgi = spawn("/usr/lib/git-core/git-http-backend", [], { env, stdio: ["pipe", "pipe", "ignore"] })
    req.pipe(cgi.stdin)
    let head = Buffer.alloc(0)
    let headersDone = false
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk)
        return
      }
      head = Buffer.concat([head, chunk])
      const end = head.indexOf("\r\n\r\n")
      if (end < 0) return
      headersDone = true
      let status = 200
      const headers: Record<string, string> = {}
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":")
        if (colon < 0) continue
        const name = line.slice(0, colon).trim()
        const value = line.slice(colon + 1).trim()
        if (name.toLowerCase() === "status") status = Number(value.split(" ")[0])
        else headers[name] = value
      }
      res.writeHead(status, headers)
      res.write(head.subarray(end + 4))
    })
    cgi.on("close", () => res.end())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: (repo) => `https://127.0.0.1:${port}/${repo}`,
    caFile: cert,
    port,
    authorizations,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
