/**
 * A service's Git source as git sees it: its remote, the credential from the
 * service secret named by `credentialRef` (an HTTPS token, `user:token`, or
 * an SSH private key; decrypted for one run only), and the pinned SSH host
 * key, which the first successful SSH connection stores (trust on first use)
 * and every later one requires.
 */
import { Context, Effect, Either, Layer, Option, type Scope } from "effect"
import type { DatabaseError } from "../../db/errors.js"
import type { GitSource, Service } from "../../domain/service.js"
import { GitStateRepo } from "../../repos/GitStateRepo.js"
import { ServiceSecretsRepo } from "../../repos/ServiceSecretsRepo.js"
import { SecretStore } from "../../secrets/SecretStore.js"
import { type GitAccess, type GitCredential, USERNAME } from "./access.js"
import { confineBuild } from "./confine.js"
import { GitFailed } from "./errors.js"
import { GitClient, type RefQuery, type RemoteRef } from "./GitClient.js"
import type { PinnedHostKey } from "./knownHosts.js"
import { type GitRemote, parseGitRemote } from "./remote.js"

export type GitService = Service & { readonly source: typeof GitSource.Type }

export const isGitService = (s: Service): s is GitService => s.source.type === "git"

export interface PreparedCheckout {
  readonly commit: string
  /** Real path of the build context inside the checkout. */
  readonly contextDir: string
  /** Dockerfile relative to `contextDir`. */
  readonly dockerfile: string
  /** Fingerprints of the SSH host key this checkout pinned (first connection), if it did. */
  readonly pinnedNow: ReadonlyArray<string> | undefined
}

/** Reads a secret value as a credential: a PEM/OpenSSH private key, or an HTTPS token (`user:token` or a bare token). */
export const credentialFromSecret = (value: string): Either.Either<GitCredential, string> => {
  const trimmed = value.trim()
  if (trimmed.startsWith("-----BEGIN ")) {
    return /PRIVATE KEY-----/.test(trimmed)
      ? Either.right({ kind: "ssh", privateKey: trimmed + "\n" })
      : Either.left("holds a PEM block that is not a private key")
  }
  if (trimmed === "" || /[\r\n\0]/.test(trimmed)) return Either.left("must be a token, user:token, or an SSH private key")
  const colon = trimmed.indexOf(":")
  if (colon > 0 && USERNAME.test(trimmed.slice(0, colon))) {
    return Either.right({ kind: "https", username: trimmed.slice(0, colon), password: trimmed.slice(colon + 1) })
  }
  // GitHub and Gitea accept any user name with a token; GitLab too for personal access tokens
  return Either.right({ kind: "https", username: "x-access-token", password: trimmed })
}

/** Whether known_hosts lines name the remote's host (`host` or `[host]:port`, possibly in a comma list). */
export const pinsHost = (knownHosts: string, remote: GitRemote): boolean =>
  knownHosts.split("\n").some((line) => (line.trim().split(/\s+/)[0] ?? "").split(",").includes(remote.knownHostsName))

const make = Effect.gen(function*() {
  const client = yield* GitClient
  const state = yield* GitStateRepo
  const secrets = yield* ServiceSecretsRepo
  const store = yield* SecretStore

  const remoteOf = (service: GitService): Effect.Effect<GitRemote, GitFailed> =>
    Either.match(parseGitRemote(service.source.url), {
      onLeft: (problem) => Effect.fail(new GitFailed({ reason: "clone", message: `source.url: ${problem}` })),
      onRight: Effect.succeed
    })

  const credentialOf = (service: GitService): Effect.Effect<GitCredential | undefined, GitFailed | DatabaseError> =>
    Effect.gen(function*() {
      const name = service.source.credentialRef
      if (name === undefined || name === null) return undefined
      const row = yield* secrets.find(service.id, name)
      if (Option.isNone(row)) {
        return yield* new GitFailed({ reason: "credential", message: `credentialRef: the service has no secret named ${name}` })
      }
      const payload = yield* store.get(service.projectId, row.value.secretRef).pipe(
        Effect.mapError((cause) =>
          new GitFailed({ reason: "credential", message: `credentialRef: secret ${name} cannot be decrypted`, cause })
        )
      )
      if (typeof payload !== "string") {
        return yield* new GitFailed({ reason: "credential", message: `credentialRef: secret ${name} is not a single value` })
      }
      return yield* Either.match(credentialFromSecret(payload), {
        onLeft: (problem) => Effect.fail(new GitFailed({ reason: "credential", message: `credentialRef: secret ${name} ${problem}` })),
        onRight: Effect.succeed
      })
    })

  const accessOf = (service: GitService, remote: GitRemote): Effect.Effect<GitAccess, GitFailed | DatabaseError> =>
    Effect.gen(function*() {
      const credential = yield* credentialOf(service)
      const pinned = Option.getOrUndefined(yield* state.find(service.id))?.knownHosts
      // a pin is for the host it was made with: a source moved to another host pins that one on first use
      return { credential, knownHosts: pinned !== undefined && pinsHost(pinned, remote) ? pinned : undefined }
    })

  const storePin = (service: GitService, pinned: PinnedHostKey | undefined) =>
    pinned === undefined ? Effect.void : state.pinHostKey(service.id, pinned.knownHosts, pinned.fingerprints)

  /** Shallow checkout of `ref` into `dir` (empty, caller-owned), then the confined build paths. */
  const checkout = (
    service: GitService,
    ref: string,
    dir: string
  ): Effect.Effect<PreparedCheckout, GitFailed | DatabaseError, Scope.Scope> =>
    Effect.gen(function*() {
      const remote = yield* remoteOf(service)
      const access = yield* accessOf(service, remote)
      const result = yield* client.checkout({ remote, ref, dir, access })
      yield* storePin(service, result.pinned)
      const confined = yield* confineBuild(dir, service.source.context, service.source.dockerfile)
      return { commit: result.commit, ...confined, pinnedNow: result.pinned?.fingerprints }
    })

  /** The remote's refs for `query` (branch head or tags). */
  const remoteRefs = (service: GitService, query: RefQuery): Effect.Effect<ReadonlyArray<RemoteRef>, GitFailed | DatabaseError> =>
    Effect.scoped(Effect.gen(function*() {
      const remote = yield* remoteOf(service)
      const access = yield* accessOf(service, remote)
      const result = yield* client.lsRemote(remote, access, query)
      yield* storePin(service, result.pinned)
      return result.refs
    }))

  return { checkout, remoteRefs }
})

export type GitSourcesApi = Effect.Effect.Success<typeof make>

export class GitSources extends Context.Tag("denia/builder/GitSources")<GitSources, GitSourcesApi>() {
  static readonly layer = Layer.effect(GitSources, make)
}
