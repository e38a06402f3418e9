import { Schema } from "effect"

const positiveInt = (what: string, max: number) =>
  Schema.Number.pipe(
    Schema.int({ message: () => `${what} must be an integer` }),
    Schema.filter((n) => (n > 0 && n <= max ? true : `${what} must be greater than 0 and at most ${max}`))
  )

/** Resource limits of one replica. Every field optional; missing ones inherit. */
export const Limits = Schema.Struct({
  cpuMillis: Schema.optional(positiveInt("cpuMillis", 1_000_000)),
  memoryMb: Schema.optional(positiveInt("memoryMb", 16 * 1024 * 1024)),
  pids: Schema.optional(positiveInt("pids", 4_194_304))
}).annotations({ identifier: "Limits" })
export type Limits = typeof Limits.Type

export interface EffectiveLimits {
  readonly cpuMillis: number
  readonly memoryMb: number
  readonly pids: number
}

/** Service limits, else project defaults, else node defaults — per field. */
export const effectiveLimits = (service: Limits | null, project: Limits | null, node: EffectiveLimits): EffectiveLimits => ({
  cpuMillis: service?.cpuMillis ?? project?.cpuMillis ?? node.cpuMillis,
  memoryMb: service?.memoryMb ?? project?.memoryMb ?? node.memoryMb,
  pids: service?.pids ?? project?.pids ?? node.pids
})
