import { Data } from "effect"

/**
 * What happened in the domain, published by `app/` services and subsystems
 * after the change is durable, consumed by whoever must react (ingress routes,
 * pinned images, DNS, autoscaler, notifications). Payloads carry ids; a
 * consumer reads current state from its repository, so a missed or reordered
 * event never leaves it wrong for longer than its next event or safety resync.
 */
export type DomainEvent = Data.TaggedEnum<{
  ProjectChanged: { readonly projectId: string }
  ProjectDeleted: { readonly projectId: string }
  ServiceCreated: { readonly projectId: string; readonly serviceId: string }
  ServiceUpdated: { readonly projectId: string; readonly serviceId: string }
  ServiceDeleted: { readonly projectId: string; readonly serviceId: string }
  DeploymentPromoted: { readonly serviceId: string; readonly deploymentId: string }
  DeploymentFailed: { readonly serviceId: string; readonly deploymentId: string; readonly reason: string }
  ServiceStopped: { readonly serviceId: string }
  ReplicaStarted: { readonly serviceId: string; readonly replicaId: string }
  ReplicaStopped: { readonly serviceId: string; readonly replicaId: string; readonly reason: string }
  DomainVerified: { readonly serviceId: string; readonly hostname: string }
  DomainChanged: { readonly serviceId: string; readonly hostname: string }
}>

export const DomainEvent = Data.taggedEnum<DomainEvent>()

export type DomainEventTag = DomainEvent["_tag"]
