/**
 * Test peers for OCI work: Debian's `docker-registry` (distribution 2.x) on a
 * random loopback port with a temp storage dir, optional htpasswd Basic auth
 * or token auth, and a small JWT token issuer for the token flow.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { runTool } from "../../scripts/test-images/layout.js"

export interface BasicUser {
  readonly username: string
  readonly password: string
}

export interface TokenAuthConfig {
  readonly realm: string
  readonly service: string
  readonly issuer: string
  /** PEM certificate bundle the registry trusts for token signatures. */
  readonly rootCertBundle: string
}

export interface RegistryOptions {
  /** Enable htpasswd Basic auth with this user. */
  readonly basicAuth?: BasicUser
  /** Enable token auth (see {@link startTokenIssuer}). */
  readonly tokenAuth?: TokenAuthConfig
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>` */
  readonly host: string
  readonly port: number
  readonly url: string
  readonly storageDir: string
  /** Path of a blob's data file in the registry's storage (to corrupt it in tests). */
  readonly blobDataPath: (digest: string) => string
  readonly stop: () => Promise<void>
}

/** A free TCP port on 127.0.0.1 (bind :0, read, close). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })

const waitForHttp = async (url: string, proc: ChildProcess, logs: () => string): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited (${proc.exitCode}): ${logs()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(url, (res) => {
        res.resume()
        resolve(true)
      })
      req.on("error", () => resolve(false))
      req.setTimeout(1000, () => {
        req.destroy()
        resolve(false)
      })
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`docker-registry did not come up: ${logs()}`)
}

/** Starts `docker-registry` on a random loopback port; `stop()` kills it and removes its temp dir. */
export const startRegistry = async (options: RegistryOptions = {}): Promise<RunningRegistry> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "denia-registry-"))
  const storageDir = path.join(dir, "storage")
  await fs.mkdir(storageDir)
  const port = await freePort()
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${storageDir}`,
    "  delete:",
    "    enabled: true",
    "  cache:",
    "    blobdescriptor: inmemory",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`
  ]
  if (options.basicAuth) {
    const htpasswd = path.join(dir, "htpasswd")
    const line = await runTool("htpasswd", ["-Bbn", options.basicAuth.username, options.basicAuth.password])
    await fs.writeFile(htpasswd, line)
    lines.push("auth:", "  htpasswd:", "    realm: denia-test", `    path: ${htpasswd}`)
  } else if (options.tokenAuth) {
    const t = options.tokenAuth
    lines.push(
      "auth:",
      "  token:",
      `    realm: ${t.realm}`,
      `    service: ${t.service}`,
      `    issuer: ${t.issuer}`,
      `    rootcertbundle: ${t.rootCertBundle}`
    )
  }
  const configFile = path.join(dir, "config.yml")
  await fs.writeFile(configFile, `${lines.join("\n")}\n`)
  let logs = ""
  const proc = spawn("docker-registry", ["serve", configFile], { stdio: ["ignore", "pipe", "pipe"] })
  proc.stdout?.on("data", (d: Buffer) => (logs = (logs + d.toString()).slice(-4000)))
  proc.stderr?.on("data", (d: Buffer) => (logs = (logs + d.toString()).slice(-4000)))
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()))
      proc.kill("SIGTERM")
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000)
      await exited
      clearTimeout(timer)
    }
    await fs.rm(dir, { recursive: true, force: true })
  }
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, proc, () => logs)
  } catch (e) {
    await stop()
    throw e
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    storageDir,
    blobDataPath: (digest) => {
      const hex = digest.replace(/^sha256:/, "")
      return path.join(storageDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data")
    },
    stop
  }
}

export interface TokenIssuer {
  /** `http://127.0.0.1:<port>/token` */
  readonly realm: string
  readonly host: string
  readonly service: string
  readonly issuer: string
  readonly rootCertBundle: string
  /** Number of tokens issued so far (to observe caching). */
  readonly issued: () => number
  /** Tokens issued for the OAuth2 refresh-token grant (`options.refreshToken`). */
  readonly refreshGrants: () => number
  readonly stop: () => Promise<void>
}

export interface TokenIssuerOptions {
  /**
   * Also accept `POST` with the OAuth2 form `grant_type=refresh_token&refresh_token=<this>` as `user`
   * (what containers/image sends for an auth.json `identitytoken`).
   */
  readonly refreshToken?: string
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url")

/**
 * A minimal Docker token server: Basic-authenticated `user` gets every
 * requested action; anonymous callers get a token with no access. Tokens are
 * ES256 JWTs carrying the signing certificate in `x5c`.
 */
export const startTokenIssuer = async (
  user: BasicUser,
  service = "denia-test-registry",
  options: TokenIssuerOptions = {}
): Promise<TokenIssuer> => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "denia-token-"))
  const keyFile = path.join(dir, "key.pem")
  const certFile = path.join(dir, "cert.pem")
  await runTool("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    "/CN=denia-test-token-issuer"
  ])
  const key = createPrivateKey(await fs.readFile(keyFile))
  const certDer = new X509Certificate(await fs.readFile(certFile)).raw
  const issuer = "denia-test-issuer"
  let issued = 0
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`
  let refreshGrants = 0
  const server = http.createServer((req, res) => {
    let form = ""
    req.on("data", (c: Buffer) => (form = (form + c.toString()).slice(0, 16384)))
    req.on("end", () => answer(req, res, new URLSearchParams(form)))
  })
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, form: URLSearchParams) => {
    const url = new URL(req.url ?? "/", "http://x")
    if (url.pathname !== "/token") {
      res.writeHead(404).end()
      return
    }
    if (req.method === "POST") {
      // the OAuth2 form carries service and scope in the body
      for (const [k, v] of form) if (k === "scope" || k === "service") url.searchParams.append(k, v)
    }
    const refresh = req.method === "POST" && form.get("grant_type") === "refresh_token" ? form.get("refresh_token") : null
    const auth = req.headers.authorization
    if ((auth !== undefined && auth !== expected) || (refresh !== null && refresh !== options.refreshToken)) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] }))
      return
    }
    const authenticated = auth === expected || (refresh !== null && refresh === options.refreshToken)
    if (refresh !== null) refreshGrants++
    const access = url.searchParams.getAll("scope").flatMap((scope) => {
      const parts = scope.split(":")
      if (parts.length < 3 || !authenticated) return []
      const actions = (parts[parts.length - 1] ?? "").split(",")
      return [{ type: parts[0], name: parts.slice(1, -1).join(":"), actions }]
    })
    const nowS = Math.floor(Date.now() / 1000)
    const header = { typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] }
    const claims = {
      iss: issuer,
      sub: authenticated ? user.username : "",
      aud: url.searchParams.get("service") ?? service,
      exp: nowS + 300,
      nbf: nowS - 10,
      iat: nowS,
      jti: randomBytes(8).toString("hex"),
      access
    }
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const sig = sign("sha256", Buffer.from(signingInput), { key, dsaEncoding: "ieee-p1363" })
    issued++
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ token: `${signingInput}.${b64url(sig)}`, expires_in: 300, issued_at: new Date().toISOString() }))
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const addr = server.address()
  const port = typeof addr === "object" && addr !== null ? addr.port : 0
  return {
    realm: `http://127.0.0.1:${port}/token`,
    host: `127.0.0.1:${port}`,
    service,
    issuer,
    rootCertBundle: certFile,
    issued: () => issued,
    refreshGrants: () => refreshGrants,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await fs.rm(dir, { recursive: true, force: true })
    }
  }
}
