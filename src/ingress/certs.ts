/**
 * In-memory SNI certificate store backed by `<data_dir>/tls/certs/<host>/`
 * (`key.pem`, `cert.pem`; files 0600, directories 0700, written atomically).
 * Everything on disk is loaded before the HTTPS listener accepts.
 */
import { X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as tls from "node:tls"
import { ensureDirectoryPromise, writeFileAtomicPromise } from "../platform/atomicWrite.js"

export interface CertEntry {
  readonly hostname: string
  readonly context: tls.SecureContext
  readonly notAfter: Date
}

/** Writes a file crash-safely (platform/atomicWrite), mode 0600, in a 0700 directory. */
export const writeSecretFile = async (file: string, content: string | Buffer): Promise<void> => {
  await ensureDirectoryPromise(path.dirname(file), 0o700, true)
  await writeFileAtomicPromise(file, typeof content === "string" ? Buffer.from(content) : content, { mode: 0o600 })
}

/** The leaf certificate's expiry; throws on unparseable PEM. */
export const certificateNotAfter = (certPem: string): Date => new Date(new X509Certificate(certPem).validTo)

export class CertStore {
  private readonly entries = new Map<string, CertEntry>()
  constructor(private readonly dir: string) {}

  private hostDir(hostname: string): string {
    return path.join(this.dir, hostname)
  }

  /** Loads every certificate on disk; returns the hostnames loaded and the ones that failed with why. */
  loadAll(): { readonly loaded: ReadonlyArray<string>; readonly failed: ReadonlyArray<{ hostname: string; error: string }> } {
    const loaded: Array<string> = []
    const failed: Array<{ hostname: string; error: string }> = []
    if (!fs.existsSync(this.dir)) return { loaded, failed }
    for (const hostname of fs.readdirSync(this.dir)) {
      try {
        const key = fs.readFileSync(path.join(this.hostDir(hostname), "key.pem"), "utf8")
        const cert = fs.readFileSync(path.join(this.hostDir(hostname), "cert.pem"), "utf8")
        this.put(hostname, key, cert)
        loaded.push(hostname)
      } catch (e) {
        failed.push({ hostname, error: e instanceof Error ? e.message : String(e) })
      }
    }
    return { loaded, failed }
  }

  private put(hostname: string, keyPem: string, certPem: string): CertEntry {
    const context = tls.createSecureContext({ key: keyPem, cert: certPem })
    const entry = { hostname, context, notAfter: certificateNotAfter(certPem) }
    this.entries.set(hostname, entry)
    return entry
  }

  /** Persists then serves a certificate (chain PEM) and its key. */
  async install(hostname: string, keyPem: string, certPem: string): Promise<CertEntry> {
    // validate before touching the disk
    tls.createSecureContext({ key: keyPem, cert: certPem })
    await writeSecretFile(path.join(this.hostDir(hostname), "key.pem"), keyPem)
    await writeSecretFile(path.join(this.hostDir(hostname), "cert.pem"), certPem)
    fs.chmodSync(this.dir, 0o700)
    return this.put(hostname, keyPem, certPem)
  }

  remove(hostname: string): void {
    this.entries.delete(hostname)
    fs.rmSync(this.hostDir(hostname), { recursive: true, force: true })
  }

  context(hostname: string): tls.SecureContext | undefined {
    return this.entries.get(hostname)?.context
  }

  has(hostname: string): boolean {
    return this.entries.has(hostname)
  }

  get(hostname: string): CertEntry | undefined {
    return this.entries.get(hostname)
  }

  list(): ReadonlyArray<CertEntry> {
    return [...this.entries.values()]
  }
}
