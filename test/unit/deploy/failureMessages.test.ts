import { describe, expect, it } from "vitest"
import { probeFailureReason, scrubInternalPaths, withLogsHint } from "../../../src/deploy/failureMessages.js"
import { exitReason } from "../../../src/runtime/exitStatus.js"

describe("deploy failure messages", () => {
  it("a crash says how the workload ended and its last stderr line", () => {
    expect(exitReason({ code: 1, signal: null, lastStderr: "fatal: config missing" })).toBe(
      "workload exited (code 1): fatal: config missing"
    )
    expect(exitReason({ code: 0, signal: null })).toBe("workload exited (code 0)")
    expect(exitReason({ code: null, signal: 9 })).toBe("workload killed by signal 9 (SIGKILL)")
    expect(exitReason({ code: null, signal: 3, lastStderr: "" })).toBe("workload killed by signal 3 (SIGQUIT)")
    expect(exitReason({ code: null, signal: 40 })).toBe("workload killed by signal 40")
  })

  it("an OOM kill names the memory limit, whatever signal delivered it", () => {
    expect(exitReason({ code: null, signal: 9, oomKilled: true }, 256)).toBe(
      "workload killed by the kernel OOM killer (memory limit 256 MiB)"
    )
    expect(exitReason({ code: null, signal: 9, oomKilled: true, lastStderr: "allocating" })).toBe(
      "workload killed by the kernel OOM killer: allocating"
    )
    expect(exitReason({ code: null, signal: 9, oomKilled: false }, 256)).toBe("workload killed by signal 9 (SIGKILL)")
  })

  it("a dropped relay connection means nothing listens on the service port; the image's port is suggested", () => {
    expect(probeFailureReason("write EPIPE", 8080, [80])).toBe("nothing listens on port 8080 inside the replica (the image exposes 80)")
    expect(probeFailureReason("socket hang up", 8080, [8080])).toBe("nothing listens on port 8080 inside the replica")
    expect(probeFailureReason("read ECONNRESET", 3000, [])).toBe("nothing listens on port 3000 inside the replica")
    expect(probeFailureReason("connect ENOENT /var/lib/denia/runtime/s/d/r/sock/service.sock", 80, [])).toBe(
      "the replica is not accepting connections"
    )
    expect(probeFailureReason("status 503", 80, [])).toBe("status 503")
  })

  it("internal paths never reach the operator", () => {
    expect(scrubInternalPaths("connect EPIPE /var/lib/denia/runtime/sx/dy/r1/sock/service.sock: gone", "/var/lib/denia")).toBe(
      "connect EPIPE <data dir>/…: gone"
    )
    expect(scrubInternalPaths("exec /app/server: not found", "/var/lib/denia")).toBe("exec /app/server: not found")
  })

  it("every failure ends with where to look next, once", () => {
    const once = withLogsHint("workload exited (code 1) after 10 ms", "web")
    expect(once).toBe("workload exited (code 1) after 10 ms; see: denia logs web")
    expect(withLogsHint(once, "web")).toBe(once)
  })
})
