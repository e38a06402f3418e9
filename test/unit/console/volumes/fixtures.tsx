/** The service the volumes tests share: a postgres-like service with one volume, as the API sends it. */
import { ids, NOW } from "../support.js"

export const dbService = {
  id: ids.service,
  projectId: ids.project,
  name: "db",
  source: { type: "hosted", tag: "v1" },
  port: 5432,
  env: {},
  limits: null,
  health: { type: "tcp", timeoutSeconds: 30 },
  tlsEnabled: false,
  autoscale: null,
  endpoints: [],
  volumes: [{ name: "data", mountPath: "/var/lib/postgresql/data", readOnly: false }],
  promotedDeploymentId: null,
  previousDeploymentId: null,
  createdAt: NOW,
  updatedAt: NOW
}
