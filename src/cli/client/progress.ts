/** A one-line transfer progress bar on stderr (only on a terminal; nothing otherwise). */
const MiB = 1024 * 1024

const fmt = (n: number) => (n >= 1024 * MiB ? `${(n / (1024 * MiB)).toFixed(2)} GiB` : `${(n / MiB).toFixed(1)} MiB`)

export interface Progress {
  readonly add: (bytes: number) => void
  readonly done: () => void
}

/** `total` is the expected size (an estimate for a backup; null when unknown). */
export const progressBar = (label: string, total: number | null, stream: NodeJS.WriteStream = process.stderr): Progress => {
  const tty = stream.isTTY === true
  const started = Date.now()
  let seen = 0
  let lastDraw = 0
  const draw = (final: boolean) => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001)
    const rate = `${fmt(seen / secs)}/s`
    const width = 24
    const bar = total !== null && total > 0
      ? (() => {
        const ratio = Math.min(seen / total, 1)
        const filled = Math.round(ratio * width)
        return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.floor(ratio * 100)}% `
      })()
      : ""
    stream.write(`\r${label} ${bar}${fmt(seen)}${total === null ? "" : ` / ~${fmt(total)}`} ${rate}${final ? "\n" : ""}`)
  }
  return {
    add: (bytes) => {
      seen += bytes
      if (!tty) return
      const now = Date.now()
      if (now - lastDraw >= 100) {
        lastDraw = now
        draw(false)
      }
    },
    done: () => {
      if (tty) draw(true)
    }
  }
}
