import { Effect } from "effect"
import type { PullProgress } from "../oci/index.js"
import type { DeploymentLogApi } from "./DeploymentLog.js"

/** Pull progress as deployment-log lines: one per phase change and per unpacked layer. */
export const progressLogger = (log: DeploymentLogApi, deploymentId: string) => {
  let lastPhase = ""
  let lastLayers = -1
  return (p: PullProgress) => {
    const line = p.phase !== lastPhase
      ? `${p.phase} ${p.reference} (${p.layersTotal} layers, ${p.bytesTotal} bytes)`
      : p.layersDone !== lastLayers
      ? `layer ${p.layersDone}/${p.layersTotal} unpacked (${p.bytesDone}/${p.bytesTotal} bytes)`
      : undefined
    lastPhase = p.phase
    lastLayers = p.layersDone
    if (line !== undefined) Effect.runFork(log.append(deploymentId, "BUILDING", line))
  }
}
