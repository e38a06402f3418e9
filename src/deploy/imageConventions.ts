/**
 * What an image's config asks of the engine beyond its command: the stop
 * signal (`STOPSIGNAL`) and the paths it declares as volumes (`VOLUME`).
 */
import { SIGNALS } from "../runtime/index.js"

export const SIGTERM = 15

export type StopSignal =
  | { readonly ok: true; readonly signal: number }
  | { readonly ok: false; readonly warning: string }

/**
 * An image's `STOPSIGNAL` as a signal number: `SIGQUIT`, `QUIT`, `sigquit` and
 * `3` all give 3. Missing or empty → SIGTERM; anything else → SIGTERM with a
 * warning for the deploy log.
 */
export const parseStopSignal = (raw: string | undefined): StopSignal => {
  const s = (raw ?? "").trim()
  if (s === "") return { ok: true, signal: SIGTERM }
  if (/^[0-9]{1,2}$/.test(s)) {
    const n = Number(s)
    if (n >= 1 && n <= 64) return { ok: true, signal: n }
  } else {
    const name = s.toUpperCase().replace(/^SIG/, "")
    const rt = /^RTMIN(?:\+([0-9]{1,2}))?$/.exec(name)
    if (rt !== null) {
      const n = 34 + Number(rt[1] ?? 0)
      if (n <= 64) return { ok: true, signal: n }
    }
    const known = SIGNALS[name]
    if (known !== undefined) return { ok: true, signal: known }
  }
  return {
    ok: false,
    warning: `the image's STOPSIGNAL ${JSON.stringify(s.slice(0, 64))} is not a signal this node knows; stopping with SIGTERM`
  }
}

const normalisePath = (p: string): string => {
  const parts = p.split("/").filter((x) => x !== "" && x !== ".")
  return `/${parts.join("/")}`
}

/**
 * The image's `VOLUME` paths no service volume is mounted at (or above):
 * what runs there lives in the replica's writable layer and is gone at the
 * next deploy. Sorted, without duplicates.
 */
export const unbackedImageVolumes = (
  imageVolumes: ReadonlyArray<string>,
  serviceVolumeMountPaths: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const mounts = serviceVolumeMountPaths.map(normalisePath)
  const covered = (p: string) => mounts.some((m) => m === "/" || p === m || p.startsWith(`${m}/`))
  return [...new Set(imageVolumes.map(normalisePath))].filter((p) => !covered(p)).sort()
}

/** One deploy-log warning line per unbacked image volume. */
export const unbackedVolumeWarning = (p: string): string =>
  `the image declares VOLUME ${p} but the service has no volume there: data written to it is lost when the replica is replaced`
