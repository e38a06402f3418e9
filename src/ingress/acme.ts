/**
 * ACME HTTP-01 issuance with `acme-client`. The account key lives at
 * `<data_dir>/tls/acme/account.key` (0600 in a 0700 dir); challenge answers
 * go into the map the proxy serves under `/.well-known/acme-challenge/`.
 */
import * as acme from "acme-client"
import * as fs from "node:fs"
import * as https from "node:https"
import * as path from "node:path"
import * as tls from "node:tls"
import type { CertStore } from "./certs.js"
import { writeSecretFile } from "./certs.js"
import type { AcmeChallengeEntry } from "./proxy.js"

export interface AcmeOptions {
  readonly directoryUrl: string
  readonly email: string
  /** Extra CA (PEM file) trusted for the directory; "" = system roots only. */
  readonly caFile: string
  readonly tlsDir: string
}

export class AcmeIssuer {
  private client: acme.Client | undefined
  private readonly inflight = new Map<string, Promise<void>>()

  constructor(
    private readonly options: AcmeOptions,
    private readonly challenges: Map<string, AcmeChallengeEntry>,
    private readonly certs: CertStore
  ) {}

  private async accountClient(): Promise<acme.Client> {
    if (this.client !== undefined) return this.client
    // acme-client retries failed calls itself for up to 75 s; the certificate loop has its own
    // backoff, so keep its retries short and let the failure surface on the domain
    const settings: unknown = Reflect.get(acme.axios.defaults, "acmeSettings")
    if (typeof settings === "object" && settings !== null) {
      Reflect.set(settings, "retryMaxAttempts", 2)
      Reflect.set(settings, "retryDefaultDelay", 2)
    }
    if (this.options.caFile !== "") {
      // acme-client talks through one (process-wide) axios instance: trust the extra CA there
      const ca = [...tls.rootCertificates, fs.readFileSync(this.options.caFile, "utf8")]
      acme.axios.defaults.httpsAgent = new https.Agent({ ca, keepAlive: true })
    }
    const keyFile = path.join(this.options.tlsDir, "acme", "account.key")
    let accountKey: Buffer
    if (fs.existsSync(keyFile)) accountKey = fs.readFileSync(keyFile)
    else {
      accountKey = await acme.crypto.createPrivateEcdsaKey("P-256")
      await writeSecretFile(keyFile, accountKey)
    }
    const client = new acme.Client({
      directoryUrl: this.options.directoryUrl,
      accountKey,
      backoffAttempts: 10,
      backoffMin: 200,
      backoffMax: 5_000
    })
    await client.createAccount({
      termsOfServiceAgreed: true,
      ...(this.options.email === "" ? {} : { contact: [`mailto:${this.options.email}`] })
    })
    this.client = client
    return client
  }

  /** Orders (or renews) a certificate for one hostname; one order per host at a time. */
  issue(hostname: string): Promise<void> {
    const running = this.inflight.get(hostname)
    if (running !== undefined) return running
    const p = this.order(hostname)
      .catch((e: unknown) => {
        // acme-client reports an unreachable directory as an internal TypeError; say what failed
        if (e instanceof TypeError) {
          this.client = undefined
          throw new Error(`ACME request to ${this.options.directoryUrl} failed (directory unreachable or not an ACME server): ${e.message}`)
        }
        throw e
      })
      .finally(() => this.inflight.delete(hostname))
    this.inflight.set(hostname, p)
    return p
  }

  private async order(hostname: string): Promise<void> {
    const client = await this.accountClient()
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: hostname, altNames: [hostname] },
      await acme.crypto.createPrivateEcdsaKey("P-256")
    )
    const cert = await client.auto({
      csr,
      ...(this.options.email === "" ? {} : { email: this.options.email }),
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      // the CA checks reachability itself; a self-check would need public DNS
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        this.challenges.set(challenge.token, { hostname: authz.identifier.value.toLowerCase(), keyAuthorization })
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.challenges.delete(challenge.token)
      }
    })
    await this.certs.install(hostname, key.toString(), cert)
  }
}
