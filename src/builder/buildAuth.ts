/**
 * Credentials a build sees, written to a private temp directory (0700, files 0600) that is removed when
 * the build's scope closes — never on a command line, never in the log:
 *
 * - `auth.json` (`--authfile`): the build token for Denia's own registry (push to the build's
 *   repository, `FROM` pulls of hosted images the deploying principal may read) and the project's
 *   registry credentials for `FROM` pulls from those registries: username/password kinds (ECR and GAR
 *   included, as their fixed user names) as `auth`, token kinds as `identitytoken` (see `authEntry`);
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

/** One `auths` entry of containers-auth.json(5). */
export interface AuthEntry {
  readonly auth: string
  readonly identitytoken?: string
}

const basicAuth = (username: string, password: string) => Buffer.from(`${username}:${password}`).toString("base64")

/**
 * The auth.json entry of a credential (undefined for anonymous). A token kind becomes an `identitytoken`
 * — containers/image then exchanges it at the registry's token realm (OAuth2 `grant_type=refresh_token`)
 * when the registry answers with a Bearer challenge — plus `auth` with the user name `<token>` (the
 * credential-helper convention for "the secret is an identity token"), which is what a registry with a
 * Basic challenge or a token realm that only takes Basic (GET) gets.
 */
export const authEntry = (credentials: BuildCredential["credentials"]): AuthEntry | undefined => {
  switch (credentials.kind) {
    case "anonymous":
      return undefined
    case "basic":
      return { auth: basicAuth(credentials.username, credentials.password) }
    case "bearer":
      return { auth: basicAuth("<token>", credentials.token), identitytoken: credentials.token }
  }
}

export const authFileJson = (entries: ReadonlyArray<BuildCredential>): string => {
  const auths: Record<string, AuthEntry> = {}
  for (const e of entries) {
    const entry = authEntry(e.credentials)
    if (entry !== undefined) auths[e.host] = entry
  }
  return JSON.stringify({ auths })
}

/** What the build output must never show of these credentials. */
export const credentialSecrets = (entries: ReadonlyArray<BuildCredential>): ReadonlyArray<string> =>
  entries.flatMap((e) => {
    const c = e.credentials
    return c.kind === "basic" ? [c.password] : c.kind === "bearer" ? [c.token] : []
  })

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
