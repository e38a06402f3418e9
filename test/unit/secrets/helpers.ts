import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** The shared SOPS interop vectors; fails loudly when the fixtures are missing. */
export const sopsFixturesDir = (): string => {
  const dir = path.resolve(repoRoot, "../shared/fixtures/sops")
  for (const f of ["example.yaml", "example.json", "data-keys.json"]) {
    if (!fs.existsSync(path.join(dir, f))) {
      throw new Error(`SOPS vectors missing: expected ${path.join(dir, f)} (../shared/fixtures/sops relative to the repo)`)
    }
  }
  return dir
}

export const readFixture = (name: string): string => fs.readFileSync(path.join(sopsFixturesDir(), name), "utf8")

export const dataKeyFor = (name: string): Uint8Array => {
  const keys: unknown = JSON.parse(readFixture("data-keys.json"))
  if (typeof keys !== "object" || keys === null) throw new Error("data-keys.json is not an object")
  const hex: unknown = Object.getOwnPropertyDescriptor(keys, name)?.value
  if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) throw new Error(`no 32-byte hex data key for ${name}`)
  return new Uint8Array(Buffer.from(hex, "hex"))
}

/** Flips one bit of one base64 field (`data`, `iv` or `tag`) inside an ENC[...] string. */
export const flipEncField = (enc: string, field: "data" | "iv" | "tag", byteIndex = 0): string => {
  const re = new RegExp(`(${field}:)([A-Za-z0-9+/=]+)`)
  const m = re.exec(enc)
  if (m === null || m[2] === undefined) throw new Error(`no ${field} field`)
  const bytes = Buffer.from(m[2], "base64")
  const i = Math.min(byteIndex, bytes.length - 1)
  bytes[i] = (bytes[i] ?? 0) ^ 0x01
  return enc.replace(re, `$1${bytes.toString("base64")}`)
}

/** Replaces the first ENC[...] value on the line that contains `marker` with `f(value)`. */
export const tamperLine = (text: string, marker: string, f: (enc: string) => string): string => {
  const lines = text.split("\n")
  const idx = lines.findIndex((l) => l.includes(marker) && l.includes("ENC[AES256_GCM"))
  if (idx < 0) throw new Error(`no encrypted line containing ${marker}`)
  const line = lines[idx] ?? ""
  const m = /ENC\[AES256_GCM,[^\]]*\]/.exec(line)
  if (m === null) throw new Error("no ENC value on line")
  lines[idx] = line.replace(m[0], f(m[0]))
  return lines.join("\n")
}

export const makeTempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix))
