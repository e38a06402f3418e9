import { Effect } from "effect"
import type { PullProgress } from "../oci/index.js"
import type { DeploymentLogApi } from "./DeploymentLog.js"

/** Pull progress as deployment-log lines: one per phase change, per unpacked layer, and one for reused layers. */
export const progressLogger = (log: DeploymentLogApi, deploymentId: string) => {
  let lastPhase = ""
  let lastLayers = -1
  let reused = false
  return (p: PullProgress) => {
    const reuse = !reused && (p.layersReused ?? 0) > 0
    if (reuse) reused = true
    const line = reuse
      ? `reusing ${p.layersReused ?? 0}/${p.layersTotal} layers already unpacked on this node`
      : p.phase !== lastPhase
      ? `${p.phase} ${p.reference} (${p.layersTotal} layers, ${p.bytesTotal} bytes)`
      : p.layersDone !== lastLayers
      ? `layer ${p.layersDone}/${p.layersTotal} unpacked (${p.bytesDone}/${p.bytesTotal} bytes)`
      : undefined
    lastPhase = p.phase
    lastLayers = p.layersDone
    if (line !== undefined) Effect.runFork(log.append(deploymentId, "BUILDING", line))
  }
}
