/**
 * Debian's `pebble` ACME test server and `pebble-challtestsrv` (used here as
 * the DNS server that answers 127.0.0.1 for every name), on random loopback
 * ports with a throw-away CA for pebble's own HTTPS listener.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as https from "node:https"
import * as path from "node:path"
import { freePort } from "./ports.js"

export interface DnsServer {
  /** `host:port` for `dns_servers`. */
  readonly address: string
  readonly stop: () => Promise<void>
}

export interface Pebble {
  readonly directoryUrl: string
  /** PEM of the CA that signed pebble's own listener (→ `acme_ca_file`). */
  readonly caFile: string
  /** PEM of the root pebble issues certificates under. */
  readonly issuerRoot: () => Promise<string>
  readonly stop: () => Promise<void>
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

const collect = (child: ChildProcess): () => string => {
  let out = ""
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()))
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()))
  return () => out
}

const waitUntil = async (what: string, check: () => Promise<boolean>, output: () => string): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} did not come up:\n${output()}`)
}

/** challtestsrv as a DNS server only: A → 127.0.0.1, no AAAA. */
export const startDns = async (): Promise<DnsServer> => {
  const dnsPort = await freePort()
  const mgmtPort = await freePort()
  const child = spawn(
    "pebble-challtestsrv",
    [
      "-dns01",
      `127.0.0.1:${dnsPort}`,
      "-http01",
      "",
      "-https01",
      "",
      "-tlsalpn01",
      "",
      "-management",
      `127.0.0.1:${mgmtPort}`,
      "-defaultIPv4",
      "127.0.0.1",
      "-defaultIPv6",
      ""
    ],
    { stdio: ["ignore", "pipe", "pipe"] }
  )
  const output = collect(child)
  await waitUntil(
    "pebble-challtestsrv",
    async () => {
      const r = await fetch(`http://127.0.0.1:${mgmtPort}/clear-request-history`, {
        method: "POST",
        body: JSON.stringify({ host: "x", type: "http" })
      })
      return r.status < 500
    },
    output
  )
  return { address: `127.0.0.1:${dnsPort}`, stop: () => stopChild(child) }
}

/** A CA and a `localhost`/127.0.0.1 certificate for pebble's listener. */
const makeListenerCert = (dir: string) => {
  const run = (args: ReadonlyArray<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })
  run([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=denia test pebble CA"
  ])
  run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "csr.pem",
    "-subj",
    "/CN=localhost"
  ])
  fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
  run([
    "x509",
    "-req",
    "-in",
    "csr.pem",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf"
  ])
}

/** pebble validating HTTP-01 on `httpPort` (Denia's ingress) and resolving names through `dns`. */
export const startPebble = async (dir: string, opts: { httpPort: number; httpsPort: number; dns: string }): Promise<Pebble> => {
  fs.mkdirSync(dir, { recursive: true })
  makeListenerCert(dir)
  const listen = await freePort()
  const mgmt = await freePort()
  const configFile = path.join(dir, "pebble-config.json")
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listen}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: path.join(dir, "cert.pem"),
        privateKey: path.join(dir, "key.pem"),
        httpPort: opts.httpPort,
        tlsPort: opts.httpsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false
      }
    })
  )
  const child = spawn("pebble", ["-config", configFile, "-dnsserver", opts.dns], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_VA_ALWAYS_VALID: "0" }
  })
  const output = collect(child)
  const ca = fs.readFileSync(path.join(dir, "ca.pem"))
  const get = (url: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(url, { ca }, (res) => {
          let body = ""
          res.on("data", (d: Buffer) => (body += d.toString()))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        })
        .on("error", reject)
    })
  const directoryUrl = `https://127.0.0.1:${listen}/dir`
  await waitUntil("pebble", async () => (await get(directoryUrl)).status === 200, output)
  return {
    directoryUrl,
    caFile: path.join(dir, "ca.pem"),
    issuerRoot: async () => (await get(`https://127.0.0.1:${mgmt}/roots/0`)).body,
    stop: () => stopChild(child)
  }
}
