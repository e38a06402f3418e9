/**
 * Reading buildah's output: which Dockerfile step is running (`STEP 3/5: RUN …`), and the one-line
 * failure a deployment error carries (`step 3/5 RUN make failed: exit status 2`).
 */

const STEP = /^STEP (\d+)\/(\d+): (.*)$/
const ERROR_AT = /^(?:Error|error)(?::)? building at STEP "(.*)": (.*)$/

export interface StepTracker {
  readonly see: (line: string) => void
  readonly current: () => { readonly index: string; readonly instruction: string } | undefined
  readonly error: () => string | undefined
}

export const makeStepTracker = (): StepTracker => {
  let step: { index: string; instruction: string } | undefined
  let error: string | undefined
  return {
    see: (line) => {
      const m = STEP.exec(line)
      if (m !== null) {
        step = { index: `${m[1]}/${m[2]}`, instruction: clip(m[3] ?? "", 200) }
        return
      }
      const e = ERROR_AT.exec(line)
      if (e !== null) error = clip(e[2] ?? "", 300)
      else if (/^(?:Error|error):/.test(line) && error === undefined) error = clip(line.replace(/^(?:Error|error):\s*/, ""), 300)
    },
    current: () => step,
    error: () => error
  }
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max)}…` : s)

/** The deployment error of a failed `buildah build`. */
export const buildFailureMessage = (tracker: StepTracker, exit: { readonly exitCode: number | null; readonly signal: string | null }) => {
  const step = tracker.current()
  const why = tracker.error() ?? (exit.signal !== null ? `killed by ${exit.signal}` : `buildah exited ${exit.exitCode ?? "?"}`)
  return step === undefined
    ? `build failed before the first step: ${why}`
    : `build failed at step ${step.index} ${step.instruction}: ${why}`
}

/** Masks every occurrence of the given secrets in a line. */
export const redact = (line: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((l, s) => (s === "" ? l : l.split(s).join("***")), line)
