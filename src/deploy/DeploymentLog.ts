import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"

export type LogPhase = "PENDING" | "BUILDING" | "STARTING" | "HEALTH" | "HEALTHY" | "FAILED" | "STOPPED" | "INFO" | "WARN"

export interface DeploymentLogApi {
  readonly pathOf: (deploymentId: string) => string
  readonly append: (deploymentId: string, phase: LogPhase, message: string) => Effect.Effect<void>
  /**
   * Calls `onAppend` after each line appended to the deployment's log from now on (once it is in the
   * file), until the returned function is called: followers wake at once instead of at their next poll.
   */
  readonly subscribe: (deploymentId: string, onAppend: () => void) => () => void
}

/**
 * Per-deployment log files `<logs>/deployments/<id>.log`, one line per event:
 * `<rfc3339> <PHASE> <message>`. Messages are operator-facing and never carry
 * secret values; newlines are flattened so a line is one event.
 */
export class DeploymentLog extends Context.Tag("denia/deploy/DeploymentLog")<DeploymentLog, DeploymentLogApi>() {
  static readonly layer = (logsDir: string) =>
    Layer.effect(
      DeploymentLog,
      Effect.gen(function*() {
        const dir = path.join(logsDir, "deployments")
        yield* Effect.promise(() => fs.mkdir(dir, { recursive: true, mode: 0o700 }))
        const pathOf = (deploymentId: string) => path.join(dir, `${deploymentId}.log`)
        const listeners = new Map<string, Set<() => void>>()
        const notify = (deploymentId: string) =>
          Effect.sync(() => {
            for (const f of listeners.get(deploymentId) ?? []) f()
          })
        const append = (deploymentId: string, phase: LogPhase, message: string) =>
          Effect.promise(() =>
            fs.appendFile(pathOf(deploymentId), `${new Date().toISOString()} ${phase} ${message.replace(/[\r\n]+/g, " ")}\n`, {
              mode: 0o600
            })
          ).pipe(
            Effect.catchAllDefect((e) => Effect.logWarning(`deployment log write failed: ${String(e)}`)),
            Effect.ensuring(notify(deploymentId))
          )
        const subscribe = (deploymentId: string, onAppend: () => void) => {
          const set = listeners.get(deploymentId) ?? new Set()
          listeners.set(deploymentId, set)
          // a wrapper per call: the same function subscribed twice is two subscriptions
          const entry = () => onAppend()
          set.add(entry)
          return () => {
            set.delete(entry)
            if (set.size === 0 && listeners.get(deploymentId) === set) listeners.delete(deploymentId)
          }
        }
        return { pathOf, append, subscribe }
      })
    )
}
