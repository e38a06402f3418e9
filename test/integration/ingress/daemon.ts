/**
 * The real daemon Layer graph plus a handle on its ReplicaRegistry and its
 * event bus (layers are shared by reference within one build, so these are
 * the instances the ingress reads), for publishing Unix-socket test replicas.
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { daemonLayer } from "../../../src/daemon/layers.js"
import { Events } from "../../../src/events/Events.js"
import { ReplicaRegistry } from "../../../src/ingress/ReplicaRegistry.js"
import { makeRequest, testConfig, type TestDaemon } from "../../support/daemon.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"

export interface IngressDaemon extends TestDaemon {
  readonly httpPort: number
  readonly httpsPort: number
  readonly registry: ReplicaRegistry
  readonly events: Events["Type"]
  readonly publish: (serviceId: string, replicas: ReadonlyArray<{ id: string; socketPath: string }>) => Promise<void>
}

export const startIngressDaemon = async (overrides: Record<string, unknown> = {}): Promise<IngressDaemon> => {
  const temp = makeTempDir()
  const httpPort = typeof overrides["http_port"] === "number" ? overrides["http_port"] : await freePort()
  const httpsPort = typeof overrides["https_port"] === "number" ? overrides["https_port"] : await freePort()
  const config = await testConfig(temp.dir, { http_port: httpPort, https_port: httpsPort, ...overrides })
  const scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(Layer.mergeAll(daemonLayer(config), ReplicaRegistry.layer, Events.layer), scope)
  )
  const registry = Context.get(context, ReplicaRegistry)
  const url = `http://${config.values.bindAddr}`
  return {
    url,
    config,
    dataDir: config.paths.dataDir,
    httpPort,
    httpsPort,
    registry,
    events: Context.get(context, Events),
    publish: (serviceId, replicas) => Effect.runPromise(registry.publish(serviceId, replicas)),
    request: makeRequest(url),
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      temp.cleanup()
    }
  }
}
