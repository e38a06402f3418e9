/**
 * Git-source flags of `denia services create` (`--git URL --ref --dockerfile
 * --context --credential --auto-deploy webhook|poll --branch --tag-pattern
 * --poll-interval`) and the per-service Git commands: `hook-rotate` (prints
 * the webhook URL once), `git-status`, `git-check`, `host-key-reset`.
 */
import { Command, Options } from "@effect/cli"
import type { Args } from "@effect/cli"
import { Effect, Option } from "effect"
import type { GitStatus } from "../../domain/gitStatus.js"
import { connectionOptions, type DeniaClient, withClient } from "./connection.js"
import { printText, printValue, safe } from "./output.js"
import { resolveService, serviceArgFor } from "./resolve.js"

export interface GitFlags {
  readonly git: Option.Option<string>
  readonly ref: Option.Option<string>
  readonly dockerfile: Option.Option<string>
  readonly context: Option.Option<string>
  readonly credential: Option.Option<string>
  readonly autoDeploy: Option.Option<"webhook" | "poll">
  readonly branch: Option.Option<string>
  readonly tagPattern: Option.Option<string>
  readonly pollInterval: Option.Option<number>
}

/** No git flag given (for callers that build CreateFlags by hand). */
export const NO_GIT_FLAGS: GitFlags = {
  git: Option.none(),
  ref: Option.none(),
  dockerfile: Option.none(),
  context: Option.none(),
  credential: Option.none(),
  autoDeploy: Option.none(),
  branch: Option.none(),
  tagPattern: Option.none(),
  pollInterval: Option.none()
}

export const gitCreateOptions = {
  git: Options.text("git").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription("Build from this Git repository (https://… or ssh://…, user@host:path)"),
    Options.optional
  ),
  ref: Options.text("ref").pipe(
    Options.withPseudoName("REF"),
    Options.withDescription("Git branch, tag or commit (default HEAD)"),
    Options.optional
  ),
  dockerfile: Options.text("dockerfile").pipe(
    Options.withPseudoName("PATH"),
    Options.withDescription("Dockerfile, relative to the context (default Dockerfile)"),
    Options.optional
  ),
  context: Options.text("context").pipe(
    Options.withPseudoName("PATH"),
    Options.withDescription("Build context inside the repository (default .)"),
    Options.optional
  ),
  credential: Options.text("credential").pipe(
    Options.withPseudoName("SECRET"),
    Options.withDescription("Service secret with the Git token (or user:token) or SSH deploy key"),
    Options.optional
  ),
  autoDeploy: Options.choice("auto-deploy", ["webhook", "poll"]).pipe(
    Options.withDescription("Deploy new commits: by webhook (prints its URL once) or by polling"),
    Options.optional
  ),
  branch: Options.text("branch").pipe(
    Options.withPseudoName("BRANCH"),
    Options.withDescription("Branch auto-deploy follows (default: --ref)"),
    Options.optional
  ),
  tagPattern: Options.text("tag-pattern").pipe(
    Options.withPseudoName("GLOB"),
    Options.withDescription("Auto-deploy the highest tag matching this glob, e.g. 'v*'"),
    Options.optional
  ),
  pollInterval: Options.integer("poll-interval").pipe(
    Options.withPseudoName("SECONDS"),
    Options.withDescription("Seconds between polls (default 300)"),
    Options.optional
  )
}

const given = (flags: GitFlags) =>
  [
    ["--ref", flags.ref],
    ["--dockerfile", flags.dockerfile],
    ["--context", flags.context],
    ["--credential", flags.credential],
    ["--auto-deploy", flags.autoDeploy],
    ["--branch", flags.branch],
    ["--tag-pattern", flags.tagPattern],
    ["--poll-interval", flags.pollInterval]
  ] as const

/**
 * The git `source` from the flags (over a git source from `--spec`), or
 * undefined when no git flag is given. Fails naming a flag that needs `--git`.
 * Pure.
 */
export const gitSourceFromFlags = (
  flags: GitFlags,
  specSource: Record<string, unknown> | undefined
): { readonly source: Record<string, unknown> | undefined } | { readonly error: string } => {
  const base = specSource?.["type"] === "git" ? specSource : undefined
  const extra = given(flags).filter((entry) => Option.isSome<unknown>(entry[1]))
  if (Option.isNone(flags.git) && base === undefined) {
    return extra.length === 0 ? { source: undefined } : { error: `${extra[0]?.[0] ?? "--ref"} is for git sources: give --git URL` }
  }
  const set = <A>(key: string, v: Option.Option<A>) => (Option.isSome(v) ? { [key]: v.value } : {})
  const baseAuto = typeof base?.["autoDeploy"] === "object" && base["autoDeploy"] !== null ? base["autoDeploy"] : undefined
  const autoFlags = Option.isSome(flags.autoDeploy) || Option.isSome(flags.branch) || Option.isSome(flags.tagPattern) ||
    Option.isSome(flags.pollInterval)
  if (autoFlags && Option.isNone(flags.autoDeploy) && baseAuto === undefined) {
    return { error: "--branch, --tag-pattern and --poll-interval configure auto-deploy: give --auto-deploy webhook|poll" }
  }
  const autoDeploy = autoFlags
    ? {
      ...baseAuto,
      ...set("mode", flags.autoDeploy),
      ...set("branch", flags.branch),
      ...set("tagPattern", flags.tagPattern),
      ...set("intervalSeconds", flags.pollInterval)
    }
    : baseAuto
  return {
    source: {
      ...base,
      type: "git",
      ...set("url", flags.git),
      ...set("ref", flags.ref),
      ...set("dockerfile", flags.dockerfile),
      ...set("context", flags.context),
      ...set("credentialRef", flags.credential),
      ...(autoDeploy === undefined ? {} : { autoDeploy })
    }
  }
}

/** Creates (or replaces) the service's webhook secret; the URL is printed once. */
export const rotateHook = (client: DeniaClient, serviceId: string) => client.git.rotateHook({ path: { id: serviceId } })

const describeStatus = (s: GitStatus): string =>
  [
    `host key:    ${
      s.hostKey === null
        ? "not pinned (pinned on the first SSH connection)"
        : `${s.hostKey.fingerprints.join(", ")} (pinned ${s.hostKey.pinnedAt})`
    }`,
    `webhook:     ${
      s.webhook.configured
        ? `configured${s.webhook.rotatedAt === undefined ? "" : ` (secret from ${s.webhook.rotatedAt})`}`
        : "none (denia services hook-rotate)"
    }`,
    `auto-deploy: ${s.autoDeploy.state}${s.autoDeploy.lastCheckedAt === undefined ? "" : `, checked ${s.autoDeploy.lastCheckedAt}`}`,
    ...(s.autoDeploy.lastSeenCommit === undefined
      ? []
      : [`last seen:   ${s.autoDeploy.lastSeenRef ?? "?"} at ${s.autoDeploy.lastSeenCommit}`]),
    ...(s.autoDeploy.lastDeploymentId === undefined ? [] : [`last deploy: ${s.autoDeploy.lastDeploymentId}`]),
    ...(s.autoDeploy.lastError === undefined ? [] : [`last error:  ${safe(s.autoDeploy.lastError)}`])
  ].join("\n")

/** The per-service Git commands, given the `--project` option and the service argument of `denia services`. */
export const makeGitServiceCommands = (projectOption: Options.Options<Option.Option<string>>, serviceArg: Args.Args<string>) => {
  const target = { ...connectionOptions, project: projectOption, service: serviceArg }

  const hookRotate = Command.make("hook-rotate", target, (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const r = yield* resolveService(client, o.service, o.project)
        const hook = yield* rotateHook(client, r.service.id)
        return yield* printValue(
          o.json,
          hook,
          [
            `webhook URL for ${serviceArgFor(r)} (shown once; the old one stops working):`,
            `  ${hook.url}`,
            `secret (GitHub/Gitea "Secret", GitLab "Secret token"): ${hook.secret}`,
            "GitHub: content type application/json, push events."
          ].join("\n")
        )
      }))).pipe(Command.withDescription("Create or replace a Git service's webhook secret; prints the hook URL once."))

  const gitStatus = Command.make("git-status", target, (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const r = yield* resolveService(client, o.service, o.project)
        const s = yield* client.git.status({ path: { id: r.service.id } })
        return yield* printValue(o.json, s, describeStatus(s))
      }))).pipe(Command.withDescription("Show a Git service's pinned host key, webhook and auto-deploy state."))

  const gitCheck = Command.make("git-check", target, (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const r = yield* resolveService(client, o.service, o.project)
        const outcome = yield* client.git.check({ path: { id: r.service.id } })
        return yield* printValue(
          o.json,
          outcome,
          `${outcome.status}: ${safe(outcome.message)}${outcome.deploymentId === undefined ? "" : ` (deployment ${outcome.deploymentId})`}`
        )
      }))).pipe(Command.withDescription("Check the followed branch or tags now and deploy a new commit."))

  const hostKeyReset = Command.make("host-key-reset", target, (o) =>
    withClient(o, (client) =>
      Effect.gen(function*() {
        const r = yield* resolveService(client, o.service, o.project)
        yield* client.git.resetHostKey({ path: { id: r.service.id } })
        return yield* printText(`host key pin of ${serviceArgFor(r)} removed; the next SSH connection pins the server's key again`)
      }))).pipe(Command.withDescription("Forget a Git service's pinned SSH host key (after a verified key change)."))

  return [hookRotate, gitStatus, gitCheck, hostKeyReset] as const
}
