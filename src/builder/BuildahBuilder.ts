/**
 * The builder (ADR 0801): `buildah build --isolation chroot --layers --pull=missing` on a build context,
 * with a persistent per-project storage (`<data_dir>/builds/cache/<projectId>`, so layer caches and base
 * images are reused by the next build of the same project and never shared across projects), then
 * `buildah push` of `<project>/<service>:<deploymentId>` into the hosted registry on the loopback API
 * address with a short-lived build token (registry/hostedPulls.ts `mintBuild`) in a 0600 authfile.
 * One build per slot (`build_concurrency`), each in its own cgroup or at idle priority (isolation.ts),
 * bounded by `build_timeout_minutes`.
 */
import { Duration, Effect, Fiber, Option } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { normalizeRegistryHost } from "../oci/registryHost.js"
import { HostedPulls } from "../registry/hostedPulls.js"
import type { ServiceSecretsRepo } from "../repos/ServiceSecretsRepo.js"
import { Registries } from "../secrets/registries.js"
import type { SecretStore } from "../secrets/SecretStore.js"
import { acquireBuildAuth, type BuildCredential, credentialSecrets } from "./buildAuth.js"
import type { BuildRequest, BuildResult } from "./Builder.js"
import { buildFailureMessage, makeStepTracker, redact } from "./buildOutput.js"
import { acquireBuildSecretFiles, resolveBuildSecrets } from "./buildSecrets.js"
import { BuildFailed } from "./errors.js"
import { acquireBuildCgroup, type BuildIsolation, detectBuildIsolation, isolatedCommand } from "./isolation.js"
import { locateLayerTrees } from "./layerTrees.js"
import { runProcess } from "./process.js"
import { makeBuildQueue } from "./queue.js"

export interface BuilderOptions {
  /** `<data_dir>/builds`: per-project storage (`cache/`) and temp files (`tmp/`). */
  readonly buildsDir: string
  readonly cgroupRoot: string
  readonly memoryMb: number
  readonly timeoutMinutes: number
  readonly concurrency: number
  /** `insecure_registries`: reachable over plain HTTP by `FROM`. */
  readonly insecureRegistries: ReadonlyArray<string>
  /** Tests: the buildah binary. */
  readonly buildah?: string
  /** The node's user-namespace size: layer trees using ids at or above it are not handed out (ADR 0822). */
  readonly usernsSize?: number
}

const DEFAULT_USERNS_SIZE = 65536

const failed = (message: string, cause?: unknown) => new BuildFailed({ message, ...(cause === undefined ? {} : { cause }) })

/** `dockerfile` resolved inside `contextDir`, or a failure naming the field. */
export const confinedDockerfile = (contextDir: string, dockerfile: string): Effect.Effect<string, BuildFailed> => {
  const resolved = path.resolve(contextDir, dockerfile)
  const rel = path.relative(contextDir, resolved)
  return rel === "" || rel.startsWith("..") || path.isAbsolute(rel) || dockerfile.includes("\0")
    ? Effect.fail(failed(`dockerfile: ${dockerfile} is not a file inside the build context`))
    : Effect.succeed(resolved)
}

/** Lazily unmounts every mount point below `dir` (deepest first), from /proc/self/mountinfo. */
const unmountBelow = (dir: string) =>
  Effect.gen(function*() {
    const info = yield* Effect.promise(() => fs.readFile("/proc/self/mountinfo", "utf8").catch(() => ""))
    const points = info
      .split("\n")
      .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
      .filter((p) => p.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length)
    for (const p of new Set(points)) {
      yield* runProcess({ argv: ["umount", "-l", p], onLine: () => undefined }).pipe(Effect.ignore)
    }
  })

export const makeBuildahBuilder = (options: BuilderOptions) =>
  Effect.gen(function*() {
    const pulls = yield* HostedPulls
    const registries = yield* Registries
    const secretsContext = yield* Effect.context<ServiceSecretsRepo | SecretStore>()
    const isolation: BuildIsolation = yield* detectBuildIsolation(options.cgroupRoot)
    yield* Effect.logInfo(`builder: ${isolation.reason}`)
    const queue = yield* makeBuildQueue(Math.max(1, options.concurrency))
    const daemonScope = yield* Effect.scope
    const buildah = options.buildah ?? "buildah"
    const tmpDir = path.join(options.buildsDir, "tmp")
    yield* Effect.promise(() => fs.mkdir(tmpDir, { recursive: true, mode: 0o700 }).catch(() => undefined))

    // containers/storage leaves its overlay home mounted after buildah exits: unmount what is below the
    // build cache when the daemon stops, so the data dir can be moved or removed
    yield* Effect.addFinalizer(() => unmountBelow(path.join(options.buildsDir, "cache")))

    const storageArgs = (projectId: string) => {
      const base = path.join(options.buildsDir, "cache", projectId)
      return ["--root", path.join(base, "root"), "--runroot", path.join(base, "run"), "--storage-driver", "overlay"]
    }

    /** The project's registries with credentials (username/password and token kinds), for `FROM` pulls. */
    const projectCredentials = (request: BuildRequest) =>
      Effect.gen(function*() {
        const list = yield* registries.list(request.projectId)
        const out: Array<BuildCredential> = []
        for (const r of list) {
          const creds = yield* registries.resolveCredentials(request.projectId, r.id).pipe(Effect.option)
          if (Option.isNone(creds)) {
            yield* request.log(`registry ${r.name}: its credentials cannot be read; FROM pulls from it go unauthenticated`)
            continue
          }
          if (creds.value.kind === "anonymous") continue
          out.push({ host: normalizeRegistryHost(r.endpoint.replace(/^https?:\/\//, "").replace(/\/.*$/, "")), credentials: creds.value })
        }
        return out
      }).pipe(Effect.catchAll(() => Effect.succeed<ReadonlyArray<BuildCredential>>([])))

    /** The `--secret` arguments of the request's build secrets (files removed with the scope) and their masks. */
    const secretArgs = (request: BuildRequest) =>
      resolveBuildSecrets(request, request.secrets ?? []).pipe(
        Effect.provide(secretsContext),
        Effect.flatMap((resolved) => acquireBuildSecretFiles(tmpDir, resolved))
      )

    const runBuild = (request: BuildRequest) =>
      Effect.scoped(
        Effect.gen(function*() {
          const repository = `${request.projectName}/${request.serviceName}`
          const dockerfile = yield* confinedDockerfile(request.contextDir, request.dockerfile)
          const present = yield* Effect.promise(() => fs.lstat(dockerfile).then((s) => s.isFile(), () => false))
          if (!present) return yield* failed(`dockerfile: ${request.dockerfile} does not exist in the build context`)
          const token = yield* pulls.mintBuild(request.serviceId, repository)
          if (Option.isNone(token)) {
            return yield* failed(`no push authorization for hosted repository ${repository}; deploy again`)
          }
          yield* Effect.addFinalizer(() => pulls.revoke(token.value))
          const secrets = [token.value]
          const credentials = yield* projectCredentials(request)
          secrets.push(...credentialSecrets(credentials))
          const buildSecrets = yield* secretArgs(request)
          secrets.push(...buildSecrets.masks)
          const auth = yield* acquireBuildAuth(
            tmpDir,
            [...credentials, { host: pulls.address, credentials: { kind: "basic", username: "denia-builder", password: token.value } }],
            [pulls.address, ...options.insecureRegistries]
          ).pipe(Effect.mapError((e) => failed("cannot prepare the build's credentials", e)))
          const cgroup = isolation.mode === "cgroup"
            ? yield* acquireBuildCgroup(isolation, request.deploymentId, options.memoryMb).pipe(
              Effect.map((c) => c.dir),
              Effect.catchAll((e) =>
                Effect.logWarning("builder: cannot create the build cgroup; running at idle priority only", e).pipe(
                  Effect.as(undefined)
                )
              )
            )
            : undefined
          const env = { CONTAINERS_REGISTRIES_CONF: auth.registriesConf, TMPDIR: tmpDir, BUILDAH_ISOLATION: "chroot" }
          const localTag = `localhost/denia-build/${repository}:${request.deploymentId}`
          const target = `${pulls.address}/${repository}:${request.deploymentId}`
          const tracker = makeStepTracker()
          const lines: Array<string> = []
          const onLine = (line: string) => {
            const clean = redact(line, secrets)
            tracker.see(clean)
            lines.push(clean)
          }
          // lines are forwarded as they come: a small pump drains `lines` while the process runs
          const pump = Effect.suspend(() => Effect.forEach(lines.splice(0), request.log, { discard: true }))
          const withPump = <A, E>(effect: Effect.Effect<A, E>) =>
            Effect.gen(function*() {
              const fiber = yield* Effect.fork(Effect.forever(pump.pipe(Effect.zipRight(Effect.sleep("200 millis")))))
              return yield* effect.pipe(Effect.ensuring(Fiber.interrupt(fiber)), Effect.ensuring(pump))
            })

          yield* request.log(
            `building ${request.dockerfile} (${isolation.mode === "cgroup" && cgroup !== undefined ? "own cgroup" : "idle priority"})`
          )
          const build = yield* withPump(runProcess({
            argv: isolatedCommand(
              [
                buildah,
                ...storageArgs(request.projectId),
                "build",
                "--isolation",
                "chroot",
                "--layers",
                "--pull=missing",
                "--authfile",
                auth.authFile,
                ...buildSecrets.args,
                "-f",
                dockerfile,
                "-t",
                localTag,
                request.contextDir
              ],
              cgroup
            ),
            cwd: request.contextDir,
            env,
            onLine
          })).pipe(Effect.mapError((e) => failed("cannot run buildah", e)))
          if (build.exitCode !== 0) return yield* failed(buildFailureMessage(tracker, build))

          const digestFile = path.join(path.dirname(auth.authFile), "digest")
          yield* request.log(`pushing ${repository}:${request.deploymentId} to the hosted registry`)
          const push = yield* withPump(runProcess({
            argv: isolatedCommand(
              [
                buildah,
                ...storageArgs(request.projectId),
                "push",
                "--quiet",
                "--authfile",
                auth.authFile,
                "--tls-verify=false",
                "--digestfile",
                digestFile,
                localTag,
                `docker://${target}`
              ],
              cgroup
            ),
            env,
            onLine
          })).pipe(Effect.mapError((e) => failed("cannot run buildah push", e)))
          if (push.exitCode !== 0) {
            return yield* failed(`push to the hosted registry failed: ${tracker.error() ?? `buildah exited ${push.exitCode ?? "?"}`}`)
          }
          const digest = (yield* Effect.promise(() => fs.readFile(digestFile, "utf8").catch(() => ""))).trim()
          if (!/^sha256:[0-9a-f]{64}$/.test(digest)) return yield* failed("push to the hosted registry reported no digest")
          if (request.withLayerTrees !== undefined) {
            // before the untag below: the trees are the image's until it returns (ADR 0822)
            const storageRoot = path.join(options.buildsDir, "cache", request.projectId, "root")
            const trees = yield* Effect.promise(() => locateLayerTrees(storageRoot, localTag, options.usernsSize ?? DEFAULT_USERNS_SIZE))
            if (trees === undefined) yield* request.log("build storage: the image's layer trees were not found; the deploy pulls the image")
            else yield* request.withLayerTrees({ digest, trees })
          }
          // the tag only names this deployment's result; its layers stay in the project's cache. Untagging
          // is off the deploy's path (the daemon's scope ends it at shutdown); buildah's storage lock orders
          // it against the project's next build
          const untagEnv = { TMPDIR: tmpDir, BUILDAH_ISOLATION: "chroot" } // the build's temp files are gone by then
          yield* runProcess({ argv: [buildah, ...storageArgs(request.projectId), "rmi", localTag], env: untagEnv, onLine: () => undefined })
            .pipe(
              Effect.ignore,
              Effect.forkIn(daemonScope)
            )
          yield* request.log(`built and pushed ${repository}:${request.deploymentId} (${digest})`)
          return { repository, tag: request.deploymentId, digest } satisfies BuildResult
        })
      ).pipe(
        Effect.timeoutFail({
          duration: Duration.minutes(options.timeoutMinutes),
          onTimeout: () => failed(`build timed out after ${options.timeoutMinutes} min (build_timeout_minutes)`)
        })
      )

    const build = (request: BuildRequest): Effect.Effect<BuildResult, BuildFailed> =>
      queue.run((ahead) => request.log(`building: queued (${ahead} ahead)`), runBuild(request))

    return { build, isolation, queue }
  })
