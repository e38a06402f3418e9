/** `services create|update` workload flags → body fields: worker, health kinds, capabilities, shm; contradictions named. */
import { Option, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { noWorkloadFlags, workloadFields, type WorkloadFlags } from "../../../src/cli/client/serviceFlags.js"
import { CreateService } from "../../../src/domain/service.js"

const flags = (over: Partial<WorkloadFlags>): WorkloadFlags => ({ ...noWorkloadFlags, ...over })
const httpService = {
  port: 8080,
  health: { type: "http", path: "/ready", timeoutSeconds: 10 },
  capabilities: { add: ["NET_ADMIN"] }
} as const
const worker = { port: null, health: { type: "running", settleSeconds: 5 }, capabilities: {} } as const

describe("services create|update workload flags", () => {
  it("--worker makes a worker; --settle-seconds sets its check", () => {
    expect(workloadFields(flags({ worker: true }), undefined, false)).toEqual({ fields: { port: null } })
    expect(workloadFields(flags({ worker: true, settleSeconds: Option.some(2) }), undefined, false)).toEqual({
      fields: { port: null, health: { type: "running", settleSeconds: 2 } }
    })
    // an existing worker takes --settle-seconds alone
    expect(workloadFields(flags({ settleSeconds: Option.some(9) }), worker, false)).toEqual({
      fields: { health: { type: "running", settleSeconds: 9 } }
    })
  })

  it("--health-tcp and --health-path choose the check; the timeout is kept or given", () => {
    expect(workloadFields(flags({ healthTcp: true }), undefined, false)).toEqual({ fields: { health: { type: "tcp" } } })
    expect(workloadFields(flags({ healthTcp: true }), httpService, false)).toEqual({
      fields: { health: { type: "tcp", timeoutSeconds: 10 } }
    })
    expect(workloadFields(flags({ healthPath: Option.some("/up"), healthTimeout: Option.some(3) }), undefined, false)).toEqual({
      fields: { health: { type: "http", path: "/up", timeoutSeconds: 3 } }
    })
    expect(workloadFields(flags({ healthTimeout: Option.some(60) }), httpService, false)).toEqual({
      fields: { health: { type: "http", path: "/ready", timeoutSeconds: 60 } }
    })
  })

  it("contradictions name both flags", () => {
    const error = (f: Partial<WorkloadFlags>, current = undefined as typeof httpService | typeof worker | undefined, port = false) => {
      const r = workloadFields(flags(f), current, port)
      return "error" in r ? r.error : "(accepted)"
    }
    expect(error({ worker: true }, undefined, true)).toMatch(/^--worker and --port contradict/)
    expect(error({ worker: true, healthTcp: true })).toMatch(/^--worker and --health-tcp contradict/)
    expect(error({ healthTcp: true, healthPath: Option.some("/") })).toMatch(/^--health-tcp and --health-path contradict/)
    expect(error({ settleSeconds: Option.some(3) }, httpService)).toMatch(/^--settle-seconds is for workers/)
    expect(error({ healthTimeout: Option.some(3) }, worker)).toMatch(/^--health-timeout is for HTTP\/TCP checks/)
  })

  it("--cap-add/--cap-drop replace their list and keep the other; --shm-mb", () => {
    expect(workloadFields(flags({ capDrop: ["ALL"], shmMb: Option.some(256) }), httpService, false)).toEqual({
      fields: { capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] }, shmMb: 256 }
    })
    expect(workloadFields(flags({ capAdd: ["SYS_PTRACE", "SYS_NICE"] }), undefined, false)).toEqual({
      fields: { capabilities: { add: ["SYS_PTRACE", "SYS_NICE"] } }
    })
  })

  it("a create body with the flags decodes, and a forbidden capability is named by the schema", () => {
    const base = { projectId: "0190a3e2-0000-7000-8000-000000000001", name: "db", source: { type: "image", image: "redis:7" }, port: 6379 }
    const r = workloadFields(flags({ healthTcp: true, capAdd: ["sys_nice"] }), undefined, true)
    if (!("fields" in r)) throw new Error(r.error)
    const body = Schema.decodeUnknownSync(CreateService)({ ...base, ...r.fields })
    expect(body.health).toEqual({ type: "tcp", timeoutSeconds: 30 })
    expect(body.capabilities).toEqual({ add: ["SYS_NICE"] })
    const bad = workloadFields(flags({ capAdd: ["SYS_ADMIN"] }), undefined, true)
    if (!("fields" in bad)) throw new Error(bad.error)
    expect(Schema.decodeUnknownEither(CreateService)({ ...base, ...bad.fields })._tag).toBe("Left")
  })
})
