/**
 * Git for builds and auto-deploy: a shallow checkout of one ref
 * (`git init` + `git fetch --depth 1 origin <ref>` + detached checkout, no
 * tags, no submodules) and `git ls-remote` for branch heads and tags. Every
 * run gets its private environment (access.ts), a deadline
 * (`git_clone_timeout_seconds`), and the checkout a size and entry cap
 * (`git_checkout_max_mb`). SSH host keys are pinned on first use
 * (knownHosts.ts); a changed key is refused.
 */
import { Context, Effect, Layer, type Scope } from "effect"
import * as fs from "node:fs/promises"
import { type GitAccess, prepareAccess, type PreparedAccess } from "./access.js"
import { checkTree } from "./confine.js"
import { GitFailed } from "./errors.js"
import { runGit } from "./gitProcess.js"
import { pinFromKnownHosts, type PinnedHostKey } from "./knownHosts.js"
import type { GitRemote } from "./remote.js"

export interface GitClientOptions {
  readonly timeoutMs: number
  readonly maxCheckoutBytes: number
  readonly maxEntries: number
  /** Extra CA bundle for HTTPS remotes; empty = the system store. */
  readonly caFile: string
}

export interface CheckoutRequest {
  readonly remote: GitRemote
  /** Branch, tag, `HEAD` or a full commit id. */
  readonly ref: string
  /** An empty directory the caller owns. */
  readonly dir: string
  readonly access: GitAccess
}

export interface CheckoutResult {
  /** The commit checked out (40 hex). */
  readonly commit: string
  /** The host key pinned by this run (first SSH connection), to store with the service. */
  readonly pinned: PinnedHostKey | undefined
}

export interface RemoteRef {
  readonly name: string
  readonly commit: string
}

export interface RemoteRefs {
  readonly refs: ReadonlyArray<RemoteRef>
  readonly pinned: PinnedHostKey | undefined
}

/** `refs/heads/<branch>`, or every tag. */
export type RefQuery = { readonly kind: "branch"; readonly branch: string } | { readonly kind: "tags" }

/** Refs git is asked for: no option look-alikes, no refspecs, no `..`. */
export const SAFE_REF = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/+@-]{1,255}$/

/** What the caller may see of git's complaint: a classified sentence, never the raw output. */
const classify = (remote: GitRemote, what: string, stderr: string): GitFailed => {
  const host = remote.host
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key for .* has changed/i.test(stderr)) {
    return new GitFailed({
      reason: "hostKey",
      message:
        `the SSH host key of ${host} does not match the key pinned for this service; if the server's key really changed, reset the pin (denia services host-key-reset) and deploy again`
    })
  }
  if (
    /Permission denied \(publickey|Authentication failed|could not read Username|could not read Password|HTTP Basic: Access denied|terminal prompts disabled|401|403/i
      .test(stderr)
  ) {
    return new GitFailed({ reason: "credential", message: `${host} refused the credentials for ${what} (check credentialRef)` })
  }
  if (/couldn't find remote ref|not our ref|no such remote ref|unadvertised object/i.test(stderr)) {
    return new GitFailed({ reason: "clone", message: `${what} does not exist on ${host}` })
  }
  if (/SSL certificate problem|certificate verify failed|server certificate verification failed/i.test(stderr)) {
    return new GitFailed({ reason: "clone", message: `the TLS certificate of ${host} is not trusted (git_ca_file adds a CA)` })
  }
  if (
    /Could not resolve host|Name or service not known|Connection refused|Connection timed out|No route to host|Failed to connect/i.test(
      stderr
    )
  ) {
    return new GitFailed({ reason: "clone", message: `cannot reach ${host}` })
  }
  if (/not appear to be a git repository|Repository not found|not found/i.test(stderr)) {
    return new GitFailed({ reason: "clone", message: `${remote.transport} repository on ${host} not found` })
  }
  return new GitFailed({ reason: "clone", message: `git failed for ${what} on ${host}` })
}

const make = (options: GitClientOptions) => {
  const git = (prepared: PreparedAccess, args: ReadonlyArray<string>, cwd?: string, maxStdout?: number) =>
    runGit({
      args,
      env: prepared.env,
      timeoutMs: options.timeoutMs,
      ...(cwd === undefined ? {} : { cwd }),
      ...(maxStdout === undefined ? {} : { maxStdout })
    })

  const readPin = (prepared: PreparedAccess, remote: GitRemote) =>
    remote.transport !== "ssh" || !prepared.pinning
      ? Effect.succeed(undefined)
      : Effect.promise(() => fs.readFile(prepared.knownHostsFile, "utf8").catch(() => "")).pipe(Effect.map(pinFromKnownHosts))

  const checkRef = (ref: string) =>
    SAFE_REF.test(ref)
      ? Effect.void
      : Effect.fail(new GitFailed({ reason: "clone", message: `ref: ${JSON.stringify(ref)} is not a valid branch, tag or commit name` }))

  const expectOk = (remote: GitRemote, what: string) => (out: { code: number; stderr: string }) =>
    out.code === 0 ? Effect.void : Effect.fail(classify(remote, what, out.stderr))

  const checkout = (request: CheckoutRequest): Effect.Effect<CheckoutResult, GitFailed, Scope.Scope> =>
    Effect.gen(function*() {
      const { remote, ref, dir } = request
      yield* checkRef(ref)
      const prepared = yield* prepareAccess(remote, request.access, { caFile: options.caFile })
      const what = `ref ${ref}`
      const local = (args: ReadonlyArray<string>) =>
        git(prepared, args, dir).pipe(Effect.flatMap((out) =>
          out.code === 0
            ? Effect.succeed(out)
            : Effect.fail(new GitFailed({ reason: "clone", message: `git ${args[0] ?? ""} failed in the checkout` }))
        ))
      yield* local(["init", "-q", "."])
      yield* local(["remote", "add", "origin", remote.url])
      const fetched = yield* git(prepared, ["fetch", "-q", "--depth", "1", "--no-tags", "--no-recurse-submodules", "origin", ref], dir)
      const pinned = yield* readPin(prepared, remote)
      yield* expectOk(remote, what)(fetched)
      const limits = { maxBytes: options.maxCheckoutBytes, maxEntries: options.maxEntries }
      yield* checkTree(dir, limits)
      yield* local(["checkout", "-q", "--detach", "FETCH_HEAD"])
      yield* checkTree(dir, limits)
      const head = yield* local(["rev-parse", "HEAD"])
      const commit = head.stdout.trim()
      if (!/^[0-9a-f]{40}$/.test(commit)) {
        return yield* new GitFailed({ reason: "clone", message: "git did not report the checked-out commit" })
      }
      return { commit, pinned }
    })

  const lsRemote = (remote: GitRemote, access: GitAccess, query: RefQuery): Effect.Effect<RemoteRefs, GitFailed, Scope.Scope> =>
    Effect.gen(function*() {
      if (query.kind === "branch") yield* checkRef(query.branch)
      const prepared = yield* prepareAccess(remote, access, { caFile: options.caFile })
      const args = query.kind === "branch"
        ? ["ls-remote", "--heads", remote.url, `refs/heads/${query.branch}`]
        : ["ls-remote", "--tags", remote.url]
      const out = yield* git(prepared, args, undefined, 4 * 1024 * 1024)
      const pinned = yield* readPin(prepared, remote)
      yield* expectOk(remote, query.kind === "branch" ? `branch ${query.branch}` : "tags")(out)
      // an annotated tag is listed twice: the tag object, then `<name>^{}` with the commit it points at
      const byName = new Map<string, string>()
      for (const line of out.stdout.split("\n")) {
        const m = /^([0-9a-f]{40})\t(refs\/\S+?)(\^\{\})?$/.exec(line.trim())
        if (m?.[1] === undefined || m[2] === undefined) continue
        if (m[3] !== undefined || !byName.has(m[2])) byName.set(m[2], m[1])
      }
      const refs = [...byName].map(([name, commit]) => ({ name, commit }))
      return { refs, pinned }
    })

  return { checkout, lsRemote }
}

export type GitClientApi = ReturnType<typeof make>

export class GitClient extends Context.Tag("denia/builder/GitClient")<GitClient, GitClientApi>() {
  static readonly layer = (options: GitClientOptions) => Layer.succeed(GitClient, make(options))
}
