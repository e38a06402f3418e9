/**
 * Which archive modes a `denia-init` build has (`tar-pipe`, ADR 0902; `send-pipe`, ADR 0903): a
 * mode run without its argument prints its usage line and exits 2; a missing binary, or a build
 * without the mode, does not. Asked once per helper path and mode.
 */
import { spawn } from "node:child_process"
import { collect } from "./children.js"

const known = new Map<string, Promise<boolean>>()

export const helperHasMode = (helper: string, mode: "tar-pipe" | "send-pipe" | "recv-pipe"): Promise<boolean> => {
  const key = `${helper}\0${mode}`
  let answer = known.get(key)
  if (answer === undefined) {
    answer = new Promise((resolve) => {
      const probe = spawn(helper, [mode], { stdio: ["ignore", "ignore", "pipe"] })
      const text = collect(probe.stderr, 200)
      probe.once("error", () => resolve(false))
      probe.once("close", (code) => resolve(code === 2 && text().startsWith(`usage: denia-init ${mode}`)))
    })
    known.set(key, answer)
  }
  return answer
}
