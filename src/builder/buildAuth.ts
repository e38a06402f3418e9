/**
 * Credentials a build sees, written to a private temp directory (0700, files 0600) that is removed when
 * the build's scope closes — never on a command line, never in the log:
 *
 * - `auth.json` (`--authfile`): the build token for Denia's own registry (push to the build's
 *   repository, `FROM` pulls of hosted images the deploying principal may read) and the project's
 *   registry credentials (username/password kinds) for `FROM` pulls from those registries;
 * - `registries.conf` (`CONTAINERS_REGISTRIES_CONF`): the loopback registry and `insecure_registries`
 *   may be reached over plain HTTP; nothing else is.
 */
import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { RegistryCredentials } from "../oci/auth.js"

export interface BuildCredential {
  /** `host[:port]` as it appears in image references. */
  readonly host: string
  readonly credentials: RegistryCredentials
}

export interface BuildAuthFiles {
  readonly authFile: string
  readonly registriesConf: string
}

export const authFileJson = (entries: ReadonlyArray<BuildCredential>): string => {
  const auths: Record<string, { auth: string }> = {}
  for (const e of entries) {
    if (e.credentials.kind === "basic") {
      auths[e.host] = { auth: Buffer.from(`${e.credentials.username}:${e.credentials.password}`).toString("base64") }
    }
  }
  return JSON.stringify({ auths })
}

const tomlString = (s: string) => JSON.stringify(s)

export const registriesConf = (insecureHosts: ReadonlyArray<string>): string =>
  [
    `unqualified-search-registries = ["docker.io"]`,
    ...insecureHosts.flatMap((h) => ["", "[[registry]]", `location = ${tomlString(h)}`, "insecure = true"]),
    ""
  ].join("\n")

/** Writes both files into a fresh private directory under `tmpRoot` (os.tmpdir() when empty). */
export const acquireBuildAuth = (
  tmpRoot: string,
  entries: ReadonlyArray<BuildCredential>,
  insecureHosts: ReadonlyArray<string>
) =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const base = tmpRoot === "" ? os.tmpdir() : tmpRoot
      await fs.mkdir(base, { recursive: true, mode: 0o700 })
      const dir = await fs.mkdtemp(path.join(base, "auth-"))
      await fs.chmod(dir, 0o700)
      const authFile = path.join(dir, "auth.json")
      const conf = path.join(dir, "registries.conf")
      await fs.writeFile(authFile, authFileJson(entries), { mode: 0o600, flag: "wx" })
      await fs.writeFile(conf, registriesConf(insecureHosts), { mode: 0o600, flag: "wx" })
      return { dir, files: { authFile, registriesConf: conf } satisfies BuildAuthFiles }
    }),
    ({ dir }) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ files }) => files))
