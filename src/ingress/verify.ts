/**
 * Domain verification: fetch `http://<host>[:<port>]/.well-known/denia-challenge/<token>`
 * and compare the body with the domain's proof. 5 s timeouts, no redirects,
 * 1 KiB cap, constant-time compare, internal addresses refused unless allowed,
 * names resolved through `dns_servers` when set.
 */
import { timingSafeEqual } from "node:crypto"
import * as dns from "node:dns"
import * as http from "node:http"
import { classifyAddress } from "../oci/ssrf.js"
import { DENIA_PREFIX } from "./proxy.js"

export interface VerifyOptions {
  readonly httpPort: number
  readonly dnsServers: ReadonlyArray<string>
  readonly allowPrivate: boolean
  readonly timeoutMs: number
}

const MAX_BODY = 1024

const resolveAddresses = async (hostname: string, servers: ReadonlyArray<string>, timeoutMs: number): Promise<ReadonlyArray<string>> => {
  if (servers.length === 0) {
    const all = await dns.promises.lookup(hostname, { all: true, verbatim: true })
    return all.map((a) => a.address)
  }
  const resolver = new dns.promises.Resolver({ timeout: timeoutMs, tries: 2 })
  resolver.setServers([...servers])
  const v4 = await resolver.resolve4(hostname).catch((): Array<string> => [])
  const v6 = await resolver.resolve6(hostname).catch((): Array<string> => [])
  return [...v4, ...v6]
}

/** Resolves to undefined on success, else the reason verification failed. */
export const verifyChallenge = async (
  hostname: string,
  token: string,
  proof: string,
  options: VerifyOptions
): Promise<string | undefined> => {
  let addresses: ReadonlyArray<string>
  try {
    addresses = await resolveAddresses(hostname, options.dnsServers, options.timeoutMs)
  } catch (e) {
    return `cannot resolve ${hostname}: ${e instanceof Error ? e.message : String(e)}`
  }
  if (addresses.length === 0) return `${hostname} does not resolve to any address`
  const allowed = options.allowPrivate ? addresses : addresses.filter((a) => classifyAddress(a) === undefined)
  const address = allowed[0]
  if (address === undefined) return `${hostname} resolves only to internal addresses (${addresses.join(", ")}); refused`
  const portSuffix = options.httpPort === 80 ? "" : `:${options.httpPort}`
  return new Promise((resolve) => {
    let settled = false
    const finish = (reason: string | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      req.destroy()
      resolve(reason)
    }
    const deadline = setTimeout(() => finish(`no answer from ${hostname} within ${options.timeoutMs / 1000} s`), options.timeoutMs)
    const req = http.request(
      {
        host: address,
        port: options.httpPort,
        path: `${DENIA_PREFIX}${token}`,
        method: "GET",
        headers: { host: `${hostname}${portSuffix}`, "user-agent": "denia-domain-verification" },
        agent: false,
        timeout: options.timeoutMs
      },
      (res) => {
        if (res.statusCode !== 200) {
          const redirect = res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400
          finish(
            `http://${hostname}${portSuffix}${DENIA_PREFIX}${token} answered ${res.statusCode}${
              redirect ? " (redirects are not followed)" : ""
            }`
          )
          return
        }
        const chunks: Array<Buffer> = []
        let size = 0
        res.on("data", (c: Buffer) => {
          size += c.length
          if (size > MAX_BODY) finish(`challenge answer larger than ${MAX_BODY} bytes`)
          else chunks.push(c)
        })
        res.on("end", () => {
          const got = Buffer.from(Buffer.concat(chunks).toString("utf8").trim())
          const want = Buffer.from(proof)
          finish(got.length === want.length && timingSafeEqual(got, want) ? undefined : "challenge answer does not match")
        })
        res.on("error", (e) => finish(`reading the challenge answer failed: ${e.message}`))
      }
    )
    req.on("timeout", () => finish(`no answer from ${hostname} within ${options.timeoutMs / 1000} s`))
    req.on("error", (e) => finish(`cannot fetch the challenge from ${hostname}: ${e.message}`))
    req.end()
  })
}
