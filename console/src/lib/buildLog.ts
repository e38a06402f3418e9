/**
 * Reading build output in a deployment log (lines `<time> <PHASE> <message>`, see ADR 0801): which
 * line is the Dockerfile step that failed, and whether the build is still waiting in the node's queue.
 * Pure, for the deployment view.
 */

const STEP = /\sBUILDING STEP (\d+\/\d+): /
const FAILED_AT = /\sFAILED build failed at step (\d+\/\d+) /
const QUEUED = /\sBUILDING building: queued \((\d+) ahead\)/

/** Index of the `STEP n/m:` line the deployment failed at, if the log says a build step failed. */
export const failingStepIndex = (lines: ReadonlyArray<string>): number | undefined => {
  let failed: string | undefined
  for (const l of lines) {
    const m = FAILED_AT.exec(l)
    if (m !== null) failed = m[1]
  }
  if (failed === undefined) return undefined
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = STEP.exec(lines[i] ?? "")
    if (m !== null && m[1] === failed) return i
  }
  return undefined
}

/** `queued (n ahead)` while the last build news is a queue position (no step started since). */
export const queuedState = (lines: ReadonlyArray<string>): string | undefined => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i] ?? ""
    const q = QUEUED.exec(l)
    if (q !== null) return `building: queued (${q[1]} ahead)`
    // any other build line means the build left the queue
    if (/\s(BUILDING|FAILED|HEALTHY|STARTING|STOPPED) /.test(l)) return undefined
  }
  return undefined
}

/** A CSS class per line: the failing step, other steps, or none. */
export const buildLineClasses = (lines: ReadonlyArray<string>): ReadonlyArray<string | undefined> => {
  const failing = failingStepIndex(lines)
  return lines.map((
    l,
    i
  ) => (i === failing ? "log-step-failed" : STEP.test(l) ? "log-step" : /\sFAILED /.test(l) ? "log-failed" : undefined))
}
