/**
 * GitClient against real servers on loopback: `git http-backend` behind HTTPS
 * (token via askpass) and sshd with a deploy key (host key pinned on first use,
 * a changed key refused); shallow checkouts of a branch, a tag and a commit;
 * the size cap; ls-remote for heads and tags.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { GitClient, type GitClientApi } from "../../../src/builder/git/GitClient.js"
import { parseGitRemote } from "../../../src/builder/git/remote.js"
import { type GitHttpsServer, startGitHttpsServer } from "../../support/git/httpsServer.js"
import { makeTestRepo, type TestRepo } from "../../support/git/repo.js"
import { type GitSshServer, startGitSshServer } from "../../support/git/sshServer.js"
import { makeTempDir } from "../../support/tempDir.js"

const isRoot = process.getuid?.() === 0
if (!isRoot) console.log("skipping the SSH part of gitClient.test.ts: sshd needs root")

const TOKEN = "s3cret-token-value"
const temp = makeTempDir("denia-git-client-")
let repo: TestRepo
let https: GitHttpsServer
let ssh: GitSshServer | undefined
let first: string
let second: string

const client = (caFile: string, overrides: Partial<{ maxCheckoutBytes: number }> = {}): GitClientApi =>
  Effect.runSync(
    Effect.provide(
      GitClient,
      GitClient.layer({ timeoutMs: 60_000, maxCheckoutBytes: 64 * 1024 * 1024, maxEntries: 10_000, caFile, ...overrides })
    )
  )

const remote = (url: string) => Either.getOrThrow(parseGitRemote(url))
const freshDir = () => fs.mkdtempSync(path.join(temp.dir, "co-"))

beforeAll(async () => {
  const root = path.join(temp.dir, "repos")
  fs.mkdirSync(root)
  repo = makeTestRepo(root, "app")
  first = repo.commit({ "Dockerfile": "FROM scratch\n", "app/main.py": "print(1)\n" }, "first")
  repo.tag("v1.0.0")
  second = repo.commit({ "app/main.py": "print(2)\n" }, "second")
  https = await startGitHttpsServer(temp.dir, root, { password: TOKEN })
  if (isRoot) ssh = await startGitSshServer(fs.mkdtempSync(path.join(temp.dir, "ssh-")))
}, 60_000)

afterAll(async () => {
  await https?.close()
  await ssh?.close()
  temp.cleanup()
})

const credential = { kind: "https" as const, username: "x-access-token", password: TOKEN }

describe("GitClient over HTTPS", () => {
  it.scoped("checks out the branch head shallowly with the token, sending it only as Basic auth", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const result = yield* client(https.caFile).checkout({
        remote: remote(https.url("app.git")),
        ref: "main",
        dir,
        access: { credential }
      })
      expect(result.commit).toBe(second)
      expect(fs.readFileSync(path.join(dir, "app/main.py"), "utf8")).toBe("print(2)\n")
      // shallow: one commit only
      expect(fs.readFileSync(path.join(dir, ".git/shallow"), "utf8").trim()).toBe(second)
      expect(https.authorizations.every((h) => h === `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString("base64")}`)).toBe(true)
      expect(https.authorizations.length).toBeGreaterThan(0)
    }))

  it.scoped("checks out a tag and a full commit id", () =>
    Effect.gen(function*() {
      const tagged = yield* client(https.caFile).checkout({
        remote: remote(https.url("app.git")),
        ref: "v1.0.0",
        dir: freshDir(),
        access: { credential }
      })
      expect(tagged.commit).toBe(first)
      const byId = yield* client(https.caFile).checkout({
        remote: remote(https.url("app.git")),
        ref: first,
        dir: freshDir(),
        access: { credential }
      })
      expect(byId.commit).toBe(first)
    }))

  it.scoped("a wrong token is a credential failure that does not quote it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        client(https.caFile).checkout({
          remote: remote(https.url("app.git")),
          ref: "main",
          dir: freshDir(),
          access: { credential: { ...credential, password: "wrong-token" } }
        })
      )
      expect(error.reason).toBe("credential")
      expect(error.message).not.toContain("wrong-token")
      expect(error.message).toContain("127.0.0.1")
    }))

  it.scoped("an untrusted certificate (no git_ca_file) is refused", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        client("").checkout({ remote: remote(https.url("app.git")), ref: "main", dir: freshDir(), access: { credential } })
      )
      expect(error.message).toContain("TLS certificate")
    }))

  it.scoped("a missing ref and an option-like ref are refused", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(
        client(https.caFile).checkout({ remote: remote(https.url("app.git")), ref: "nope", dir: freshDir(), access: { credential } })
      )
      expect(missing.message).toContain("nope")
      const optionLike = yield* Effect.flip(
        client(https.caFile).checkout({
          remote: remote(https.url("app.git")),
          ref: "--upload-pack=touch",
          dir: freshDir(),
          access: { credential }
        })
      )
      expect(optionLike.message).toMatch(/^ref: /)
    }))

  it.scoped("a checkout over the size cap is refused", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        client(https.caFile, { maxCheckoutBytes: 64 }).checkout({
          remote: remote(https.url("app.git")),
          ref: "main",
          dir: freshDir(),
          access: { credential }
        })
      )
      expect(error.reason).toBe("limit")
    }))

  it.scoped("ls-remote lists the branch head and the tags", () =>
    Effect.gen(function*() {
      const heads = yield* client(https.caFile).lsRemote(remote(https.url("app.git")), { credential }, { kind: "branch", branch: "main" })
      expect(heads.refs).toEqual([{ name: "refs/heads/main", commit: second }])
      const tags = yield* client(https.caFile).lsRemote(remote(https.url("app.git")), { credential }, { kind: "tags" })
      expect(tags.refs).toEqual([{ name: "refs/tags/v1.0.0", commit: first }])
    }))
})

describe.runIf(isRoot)("GitClient over SSH", () => {
  it.scoped("pins the host key on first use, reuses the pin, and refuses a changed key", () =>
    Effect.gen(function*() {
      const server = ssh!
      const r = remote(server.url(repo.bare))
      const access = { credential: { kind: "ssh" as const, privateKey: server.deployKey } }
      const firstRun = yield* client("").checkout({ remote: r, ref: "main", dir: freshDir(), access })
      expect(firstRun.commit).toBe(second)
      expect(firstRun.pinned?.fingerprints).toEqual([server.hostFingerprint()])
      expect(firstRun.pinned?.knownHosts).toContain(`[127.0.0.1]:${server.port}`)
      const pinned = { ...access, knownHosts: firstRun.pinned!.knownHosts }
      const again = yield* client("").checkout({ remote: r, ref: "v1.0.0", dir: freshDir(), access: pinned })
      expect(again.commit).toBe(first)
      expect(again.pinned).toBeUndefined()
      yield* Effect.promise(() => server.rekey())
      const changed = yield* Effect.flip(client("").checkout({ remote: r, ref: "main", dir: freshDir(), access: pinned }))
      expect(changed.reason).toBe("hostKey")
      expect(changed.message).toContain("does not match the key pinned")
      const tags = yield* Effect.flip(client("").lsRemote(r, pinned, { kind: "tags" }))
      expect(tags.reason).toBe("hostKey")
    }), 60_000)

  it.scoped("a key the server does not authorize is a credential failure", () =>
    Effect.gen(function*() {
      const server = ssh!
      const error = yield* Effect.flip(
        client("").checkout({
          remote: remote(server.url(repo.bare)),
          ref: "main",
          dir: freshDir(),
          access: { credential: { kind: "ssh", privateKey: server.strangerKey } }
        })
      )
      expect(error.reason).toBe("credential")
    }), 60_000)
})
