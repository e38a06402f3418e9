import { describe, expect, it } from "vitest"
import { buildLineClasses, failingStepIndex, queuedState } from "../../../console/src/lib/buildLog.js"

const t = "2026-12-01T10:00:00.000Z"
const log = [
  `${t} PENDING deployment of 127.0.0.1:7180/default/web:upload-x queued`,
  `${t} BUILDING building: queued (1 ahead)`,
  `${t} BUILDING building Dockerfile (idle priority)`,
  `${t} BUILDING STEP 1/3: FROM base`,
  `${t} BUILDING STEP 2/3: RUN make`,
  `${t} BUILDING make: *** Error 2`,
  `${t} FAILED build failed at step 2/3 RUN make: exit status 2; see: denia logs web`
]

describe("build log", () => {
  it("finds the failing step and marks it, other steps and the failure", () => {
    expect(failingStepIndex(log)).toBe(4)
    expect(buildLineClasses(log)).toEqual([undefined, undefined, undefined, "log-step", "log-step-failed", undefined, "log-failed"])
    expect(failingStepIndex(log.slice(0, 6))).toBeUndefined()
  })

  it("shows the queued state only until the build starts", () => {
    expect(queuedState(log.slice(0, 2))).toBe("building: queued (1 ahead)")
    expect(queuedState(log.slice(0, 3))).toBeUndefined()
    expect(queuedState(log.slice(0, 4))).toBeUndefined()
    expect(queuedState(log.slice(0, 1))).toBeUndefined()
  })
})
