/**
 * Which tag polling deploys: the tags matching the glob (`*` any run of
 * characters except `/`, `?` one such character), highest first by a
 * semver-ish order — an optional leading `v`, then dot/dash separated parts
 * compared numerically when both are numbers and as text otherwise; a
 * version with a pre-release suffix (`1.2.0-rc1`) sorts below the release
 * (`1.2.0`); ties fall back to plain text order.
 */

/** The glob as an anchored regular expression. */
export const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    `^${glob.split("").map((c) => (c === "*" ? "[^/]*" : c === "?" ? "[^/]" : c.replace(/[.+^${}()|[\]\\-]/g, "\\$&"))).join("")}$`
  )

const split = (tag: string) => {
  const bare = tag.replace(/^v(?=\d)/, "")
  const dash = bare.indexOf("-")
  const release = dash < 0 ? bare : bare.slice(0, dash)
  const pre = dash < 0 ? undefined : bare.slice(dash + 1)
  return { release: release.split("."), pre }
}

const comparePart = (a: string, b: string): number => {
  const na = /^\d+$/.test(a)
  const nb = /^\d+$/.test(b)
  if (na && nb) return Number(a) - Number(b) || a.length - b.length
  if (na !== nb) return na ? 1 : -1
  return a < b ? -1 : a > b ? 1 : 0
}

/** Negative when `a` sorts below `b`. */
export const compareTags = (a: string, b: string): number => {
  const x = split(a)
  const y = split(b)
  const n = Math.max(x.release.length, y.release.length)
  for (let i = 0; i < n; i++) {
    const pa = x.release[i]
    const pb = y.release[i]
    if (pa === undefined) return -1
    if (pb === undefined) return 1
    const c = comparePart(pa, pb)
    if (c !== 0) return c
  }
  if (x.pre === undefined && y.pre !== undefined) return 1
  if (x.pre !== undefined && y.pre === undefined) return -1
  if (x.pre !== undefined && y.pre !== undefined) {
    const c = compareTags(x.pre, y.pre)
    if (c !== 0) return c
  }
  return a < b ? -1 : a > b ? 1 : 0
}

/** The highest tag name matching `glob` among `names`, undefined when none does. */
export const highestTag = (names: ReadonlyArray<string>, glob: string): string | undefined => {
  const re = globToRegExp(glob)
  let best: string | undefined
  for (const name of names) if (re.test(name) && (best === undefined || compareTags(name, best) > 0)) best = name
  return best
}
