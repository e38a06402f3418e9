/**
 * The FakeRuntime with a script for the coordinator's tests: it records
 * every ReplicaSpec it is asked to start, can make a replica's workload end
 * on its own (a crash with an exit status), and can serve a replica's socket
 * like the helper's relay does when nothing listens on the port inside
 * (accept, then close without reading).
 */
import { Deferred, Effect, Layer } from "effect"
import * as net from "node:net"
import * as path from "node:path"
import {
  type ExitStatus,
  type FakeRuntimeOptions,
  makeFakeRuntime,
  Runtime,
  RuntimeIoError,
  type RuntimeService
} from "../../src/runtime/index.js"
import type { ReplicaSpec } from "../../src/runtime/types.js"

export interface ScriptedRuntimeOptions {
  readonly handler?: FakeRuntimeOptions["handler"]
  /** The replica's workload ends with `status` after `afterMs` (undefined: it runs until stopped). */
  readonly exitWith?: (spec: ReplicaSpec) => { readonly status: ExitStatus; readonly afterMs: number } | undefined
  /** The replica's socket behaves like the relay when the inner connect fails. */
  readonly relayRefuses?: (spec: ReplicaSpec) => boolean
}

const refusingRelay = (socketPath: string) =>
  Effect.acquireRelease(
    Effect.async<net.Server, RuntimeIoError>((resume) => {
      // accept, then close with the client's bytes unread — what relay.c does when connect() to the port fails
      const server = net.createServer({ pauseOnConnect: true }, (c) => setImmediate(() => c.destroy()))
      server.once("error", (e) => resume(Effect.fail(new RuntimeIoError({ op: "listen", path: socketPath, message: e.message }))))
      server.listen(socketPath, () => {
        resume(Effect.succeed(server))
      })
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

/** The runtime layer, and every spec its `start` was called with, in order (one instance per test). */
export const scriptedRuntime = (options: ScriptedRuntimeOptions) => {
  const specs: Array<ReplicaSpec> = []
  const layer: Layer.Layer<Runtime, RuntimeIoError> = Layer.scoped(
    Runtime,
    Effect.gen(function*() {
      const inner = yield* makeFakeRuntime(options.handler === undefined ? {} : { handler: options.handler })
      const start: RuntimeService["start"] = (spec) =>
        Effect.gen(function*() {
          specs.push(spec)
          const replica = yield* inner.start(spec)
          const script = options.exitWith?.(spec)
          const ended = yield* Deferred.make<ExitStatus>()
          if (script !== undefined) {
            yield* Effect.forkScoped(Effect.sleep(script.afterMs).pipe(Effect.zipRight(Deferred.succeed(ended, script.status))))
          }
          let socketPath = replica.socketPath
          if (socketPath !== null && options.relayRefuses?.(spec) === true) {
            socketPath = path.join(replica.dir, "refusing.sock")
            yield* refusingRelay(socketPath)
          }
          return { ...replica, socketPath, exit: Effect.raceFirst(replica.exit, Deferred.await(ended)) }
        })
      return { ...inner, start } satisfies RuntimeService
    })
  )
  return { layer, specs }
}
