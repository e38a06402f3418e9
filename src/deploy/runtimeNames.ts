/**
 * Runtime path components for a service and deployment. Unix socket paths are
 * limited to 107 bytes, so the runtime gets short, unique names: the last 12
 * hex digits of the UUIDv7 (its random part).
 */
const short = (uuid: string): string => uuid.replace(/-/g, "").slice(-12)

export const runtimeServiceName = (serviceId: string): string => `s${short(serviceId)}`
export const runtimeDeploymentName = (deploymentId: string): string => `d${short(deploymentId)}`
