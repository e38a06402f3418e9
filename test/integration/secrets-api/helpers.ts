/** Shared helpers for the registry and service-secret API tests. */
import { NodeFileSystem } from "@effect/platform-node"
import { Effect, Exit, Layer, Logger, Scope } from "effect"
import { daemonLayer } from "../../../src/daemon/layers.js"
import { sqliteLayer } from "../../../src/db/Database.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { RegistriesRepo } from "../../../src/repos/RegistriesRepo.js"
import { ServiceSecretsRepo } from "../../../src/repos/ServiceSecretsRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { Registries } from "../../../src/secrets/registries.js"
import { SecretStore } from "../../../src/secrets/SecretStore.js"
import { ServiceSecrets } from "../../../src/secrets/serviceSecrets.js"
import { makeRequest, testConfig, type TestDaemon } from "../../support/daemon.js"
import { nextIp } from "../../support/identity.js"
import { makeTempDir } from "../../support/tempDir.js"

export interface Reply {
  readonly status: number
  readonly text: string
  readonly json: <A>() => A
}

/** A request helper that records every response body (for the leak checks). */
export const caller =
  (d: TestDaemon, seen: Array<string> = []) => async (p: string, init: Parameters<TestDaemon["request"]>[1] = {}): Promise<Reply> => {
    const r = await d.request(p, {
      ...init,
      headers: { "x-forwarded-for": nextIp(), ...(init.headers as Record<string, string> | undefined) }
    })
    const text = await r.text()
    seen.push(`${r.status} ${[...r.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${text}`)
    return { status: r.status, text, json: <A>() => JSON.parse(text) as A }
  }

/**
 * The daemon's Registries/ServiceSecrets services, built a second time over the
 * daemon's own SQLite file, data dir and age key: how the deployment and pull
 * code will call `resolveRegistryCredentials` / `resolveLaunchEnv`.
 */
export const runWithSecrets = <A, E>(d: TestDaemon, effect: Effect.Effect<A, E, Registries | ServiceSecrets | ServicesRepo>) => {
  const repos = Layer.mergeAll(RegistriesRepo.layer, ServiceSecretsRepo.layer, ProjectsRepo.layer, ServicesRepo.layer, AuditRepo.layer)
    .pipe(
      Layer.provide(sqliteLayer(d.config.paths.sqlite))
    )
  const store = SecretStore.layer({ dataDir: d.config.paths.dataDir, ageKeyFile: d.config.paths.ageKeyFile }).pipe(
    Layer.provide(NodeFileSystem.layer)
  )
  const layer = Layer.mergeAll(Registries.layer, ServiceSecrets.layer).pipe(Layer.provideMerge(Layer.merge(repos, store)))
  return Effect.runPromise(Effect.scoped(Effect.provide(effect, layer)))
}

export const errorOf = (r: Reply) => r.json<{ error: { code: string; message: string; details?: unknown } }>().error

/**
 * Like `startTestDaemon`, but every line the daemon logs through Effect's
 * logger (any level the config lets through, causes and annotations
 * included) is also rendered in logfmt into `lines`.
 */
export const startLoggedDaemon = async (lines: Array<string>, overrides: Record<string, unknown> = {}): Promise<TestDaemon> => {
  const temp = makeTempDir()
  const config = await testConfig(temp.dir, overrides)
  const capture = Logger.map(Logger.logfmtLogger, (line) => void lines.push(line))
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(Layer.buildWithScope(daemonLayer(config).pipe(Layer.provide(Logger.add(capture))), scope))
  const url = `http://${config.values.bindAddr}`
  return {
    url,
    config,
    dataDir: config.paths.dataDir,
    request: makeRequest(url),
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      temp.cleanup()
    }
  }
}
