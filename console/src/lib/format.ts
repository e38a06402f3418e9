/** Small display helpers. */
import { formatBytes as bytes } from "../../../src/domain/bytes.js"

export const formatTime = (iso: string | undefined): string => {
  if (iso === undefined) return "—"
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })
}

/** The default URL of a service: `http://<service>.<project>.localhost`. */
export const serviceUrl = (service: string, project: string | undefined): string | undefined =>
  project === undefined ? undefined : `http://${service}.${project}.localhost`

/** Byte counts for people, `—` when unknown. */
export const formatBytes = (n: number | null): string => (n === null ? "—" : bytes(n))
