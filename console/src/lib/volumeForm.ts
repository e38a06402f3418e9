/**
 * The volumes part of the service form's model: the rows as typed, the API's
 * `volumes` from them, and the checks the API would make (names, mount
 * paths, duplicates, nesting, one replica) said at the row's input before
 * anything is sent. The server's 400/409 still lands on the same inputs
 * (`volumes[1].mountPath: …`, `autoscale.maxReplicas: …`).
 */
import { isResourceName } from "../../../src/domain/names.js"
import { mountPathProblem, type Volume } from "../../../src/domain/service.js"

export interface VolumeRow {
  readonly name: string
  readonly mountPath: string
  readonly readOnly: boolean
}

export interface Issue {
  readonly field: string
  readonly message: string
}

export const emptyVolumeRow: VolumeRow = { name: "", mountPath: "", readOnly: false }

export const volumeRowsOf = (volumes: ReadonlyArray<Volume>): ReadonlyArray<VolumeRow> =>
  volumes.map((v) => ({ name: v.name, mountPath: v.mountPath, readOnly: v.readOnly }))

/** The API's `volumes` from the rows (inputs trimmed). */
export const formVolumes = (rows: ReadonlyArray<VolumeRow>): ReadonlyArray<Volume> =>
  rows.map((r) => ({ name: r.name.trim(), mountPath: r.mountPath.trim(), readOnly: r.readOnly }))

const within = (a: string, b: string) => a === b || a.startsWith(`${b}/`)

/** What is wrong with the rows, one issue per input at most; `maxReplicas` is the autoscale maximum (undefined: off). */
export const volumeIssues = (rows: ReadonlyArray<VolumeRow>, maxReplicas: number | undefined): ReadonlyArray<Issue> => {
  const out: Array<Issue> = []
  const volumes = formVolumes(rows)
  volumes.forEach((v, i) => {
    const at = `volumes[${i}]`
    const earlier = volumes.slice(0, i)
    const sameName = earlier.findIndex((w) => w.name === v.name)
    if (!isResourceName(v.name)) {
      out.push({ field: `${at}.name`, message: "name must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'" })
    } else if (sameName >= 0) out.push({ field: `${at}.name`, message: `name repeats the name of volume ${sameName + 1}` })
    const problem = mountPathProblem(v.mountPath)
    const nested = earlier.findIndex((w) => within(v.mountPath, w.mountPath) || within(w.mountPath, v.mountPath))
    if (problem !== undefined) out.push({ field: `${at}.mountPath`, message: `mount path ${problem}` })
    else if (nested >= 0) {
      out.push({
        field: `${at}.mountPath`,
        message: volumes[nested]?.mountPath === v.mountPath
          ? `mount path repeats the mount path of volume ${nested + 1}`
          : `mount path must not be nested with the mount path of volume ${nested + 1}`
      })
    }
  })
  if (rows.length > 0 && maxReplicas !== undefined && maxReplicas > 1) {
    out.push({
      field: "autoscale.maxReplicas",
      message: "a service with volumes runs one replica; set max replicas to 1 or remove the volumes"
    })
  }
  return out
}
