/** Small display helpers. */

export const formatTime = (iso: string | undefined): string => {
  if (iso === undefined) return "—"
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })
}

/** The default URL of a service: `http://<service>.<project>.localhost`. */
export const serviceUrl = (service: string, project: string | undefined): string | undefined =>
  project === undefined ? undefined : `http://${service}.${project}.localhost`

/** Byte counts for people (`—` when unknown): `512 B`, `2.0 KiB`, `3.4 MiB`, `1.25 GiB`. */
export const formatBytes = (n: number | null): string =>
  n === null
    ? "—"
    : n >= 1024 ** 3
    ? `${(n / 1024 ** 3).toFixed(2)} GiB`
    : n >= 1024 ** 2
    ? `${(n / 1024 ** 2).toFixed(1)} MiB`
    : n >= 1024
    ? `${(n / 1024).toFixed(1)} KiB`
    : `${n} B`
