/**
 * A test daemon for Git-source deployments: the real graph with `git_ca_file`
 * trusting the loopback HTTPS Git server, and — until the buildah builder is
 * wired in — a stand-in Builder that turns the checked-out context into a
 * busybox httpd image serving the context's `index.html`, pushed to the
 * hosted registry as `<project>/<service>:<deploymentId>` like the real one.
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Builder, BuildFailed, type BuildRequest } from "../../../src/builder/Builder.js"
import { daemonLayer } from "../../../src/daemon/layers.js"
import { makeRequest, testConfig, type TestDaemon } from "../../support/daemon.js"
import { pushHttpd } from "../../support/deployImages.js"
import { makeTempDir } from "../../support/tempDir.js"

export interface GitTestDaemon extends TestDaemon {
  /** Every build request the builder received. */
  readonly builds: Array<BuildRequest & { readonly files: ReadonlyArray<string> }>
}

export const startGitTestDaemon = async (caFile: string): Promise<GitTestDaemon> => {
  const temp = makeTempDir("denia-git-daemon-")
  const config = await testConfig(temp.dir, { git_ca_file: caFile })
  const address = config.values.bindAddr
  const builds: GitTestDaemon["builds"] = []
  const builder = Layer.succeed(Builder, {
    build: (request) =>
      Effect.tryPromise({
        try: async () => {
          const files = fs.readdirSync(request.contextDir).sort()
          builds.push({ ...request, files })
          if (!fs.statSync(path.join(request.contextDir, request.dockerfile)).isFile()) throw new Error("no Dockerfile")
          const body = fs.readFileSync(path.join(request.contextDir, "index.html"), "utf8")
          const repository = `${request.projectName}/${request.serviceName}`
          await request.log("stand-in build: STEP 1/1 FROM busybox httpd").pipe(Effect.runPromise)
          const built = await pushHttpd(address, repository, request.deploymentId, body)
          return { repository, tag: request.deploymentId, digest: built.digest }
        },
        catch: (cause) => new BuildFailed({ message: `stand-in build failed: ${String(cause)}`, cause })
      })
  })
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(Layer.buildWithScope(daemonLayer(config, { builder }), scope))
  const url = `http://${address}`
  return {
    url,
    config,
    dataDir: config.paths.dataDir,
    request: makeRequest(url),
    builds,
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      temp.cleanup()
    }
  }
}
