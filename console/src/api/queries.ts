/**
 * The query cache's view of the API: one key factory and one query/mutation
 * per resource, each a thin wrapper over the typed client (`call`). Pages use
 * these; nothing else talks to the network.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/solid-query"
import { TERMINAL_STATUSES } from "../../../src/domain/deployment.js"
import type { CreateProject, UpdateProject } from "../../../src/domain/project.js"
import type { CreateRegistry } from "../../../src/domain/registry.js"
import type { CreateService, UpdateService } from "../../../src/domain/service.js"
import { call } from "./client.js"
import type { ApiFailure } from "./failure.js"

export const keys = {
  me: ["me"] as const,
  projects: ["projects"] as const,
  project: (id: string) => ["projects", id] as const,
  members: (id: string) => ["projects", id, "members"] as const,
  users: ["users"] as const,
  services: (projectId?: string) => (projectId === undefined ? (["services"] as const) : (["services", { projectId }] as const)),
  service: (id: string) => ["service", id] as const,
  deployments: (serviceId: string) => ["service", serviceId, "deployments"] as const,
  secrets: (serviceId: string) => ["service", serviceId, "secrets"] as const,
  volumes: (serviceId: string) => ["service", serviceId, "volumes"] as const,
  uploads: (serviceId: string) => ["service", serviceId, "uploads"] as const,
  setupStatus: ["setup-status"] as const,
  audit: (cursor: string | undefined) => ["audit", cursor ?? ""] as const,
  hostedRepositories: ["registry", "repositories"] as const,
  apiTokens: ["api-tokens"] as const
}

/** Public: whether the first admin exists (the login page offers setup only before). */
export const useSetupStatus = () =>
  useQuery<Awaited<ReturnType<typeof fetchSetupStatus>>, ApiFailure>(() => ({
    queryKey: keys.setupStatus,
    queryFn: fetchSetupStatus,
    staleTime: 60_000
  }))
const fetchSetupStatus = () => call((c) => c.meta.setupStatus(), { token: undefined })

/** After a deployment's log stream ends: its row, the service's state and the list's status column are stale. */
export const refreshAfterDeployment = (qc: ReturnType<typeof useQueryClient>, serviceId: string) =>
  Promise.all([
    qc.invalidateQueries({ queryKey: keys.deployments(serviceId) }),
    qc.invalidateQueries({ queryKey: keys.service(serviceId), exact: true }),
    qc.invalidateQueries({ queryKey: keys.services() })
  ])

export const useMe = () => useQuery<Awaited<ReturnType<typeof fetchMe>>, ApiFailure>(() => ({ queryKey: keys.me, queryFn: fetchMe }))
const fetchMe = () => call((c) => c.auth.me())

export const useProjects = () =>
  useQuery<Awaited<ReturnType<typeof fetchProjects>>, ApiFailure>(() => ({ queryKey: keys.projects, queryFn: fetchProjects }))
const fetchProjects = () => call((c) => c.projects.list()).then((r) => r.items)

export const useProject = (id: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchProject>>, ApiFailure>(() => ({
    queryKey: keys.project(id()),
    queryFn: () => fetchProject(id())
  }))
const fetchProject = (id: string) => call((c) => c.projects.get({ path: { id } }))

export const useMembers = (projectId: () => string, enabled: () => boolean = () => true) =>
  useQuery<Awaited<ReturnType<typeof fetchMembers>>, ApiFailure>(() => ({
    queryKey: keys.members(projectId()),
    queryFn: () => fetchMembers(projectId()),
    enabled: enabled()
  }))
const fetchMembers = (id: string) => call((c) => c.members.list({ path: { id } })).then((r) => r.items)

export const useUsers = (enabled: () => boolean) =>
  useQuery<Awaited<ReturnType<typeof fetchUsers>>, ApiFailure>(() => ({ queryKey: keys.users, queryFn: fetchUsers, enabled: enabled() }))
const fetchUsers = () => call((c) => c.users.list()).then((r) => r.items)

export const useServices = (projectId: () => string | undefined = () => undefined) =>
  useQuery<Awaited<ReturnType<typeof fetchServices>>, ApiFailure>(() => ({
    queryKey: keys.services(projectId()),
    queryFn: () => fetchServices(projectId())
  }))
const fetchServices = (projectId: string | undefined) =>
  call((c) => c.services.list({ urlParams: projectId === undefined ? {} : { projectId } })).then((r) => r.items)

export const useService = (id: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchService>>, ApiFailure>(() => ({
    queryKey: keys.service(id()),
    queryFn: () => fetchService(id())
  }))
const fetchService = (id: string) => call((c) => c.services.get({ path: { id } }))

/** Newest first; polled every 2 s while the newest one is still in progress. */
export const useDeployments = (serviceId: () => string, enabled: () => boolean = () => true) =>
  useQuery<Awaited<ReturnType<typeof fetchDeployments>>, ApiFailure>(() => ({
    queryKey: keys.deployments(serviceId()),
    queryFn: () => fetchDeployments(serviceId()),
    enabled: enabled(),
    refetchInterval: (query) => {
      const newest = query.state.data?.[0]
      return newest !== undefined && !TERMINAL_STATUSES.has(newest.status) ? 2_000 : false
    }
  }))
const fetchDeployments = (id: string) => call((c) => c.deployments.listForService({ path: { id } })).then((r) => r.items)

export const useCreateProject = () => {
  const qc = useQueryClient()
  return useMutation<Awaited<ReturnType<typeof createProject>>, ApiFailure, CreateProject>(() => ({
    mutationFn: createProject,
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.projects })
  }))
}
const createProject = (payload: CreateProject) => call((c) => c.projects.create({ payload }))

export const useUpdateProject = (id: () => string) => {
  const qc = useQueryClient()
  return useMutation<Awaited<ReturnType<typeof fetchProject>>, ApiFailure, UpdateProject>(() => ({
    mutationFn: (payload: UpdateProject) => call((c) => c.projects.update({ path: { id: id() }, payload })),
    onSuccess: (project) => {
      qc.setQueryData(keys.project(project.id), project)
      return qc.invalidateQueries({ queryKey: keys.projects, exact: true })
    }
  }))
}

export const useSetMember = (projectId: () => string) => {
  const qc = useQueryClient()
  return useMutation<unknown, ApiFailure, { userId: string; role: "viewer" | "operator" | "admin" }>(() => ({
    mutationFn: (payload) => call((c) => c.members.set({ path: { id: projectId() }, payload })),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.members(projectId()) })
  }))
}

export const useRemoveMember = (projectId: () => string) => {
  const qc = useQueryClient()
  return useMutation<unknown, ApiFailure, string>(() => ({
    mutationFn: (userId) => call((c) => c.members.remove({ path: { id: projectId(), userId } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.members(projectId()) })
  }))
}

export const createService = (payload: CreateService) => call((c) => c.services.create({ payload }))
export const updateService = (id: string, payload: UpdateService) => call((c) => c.services.update({ path: { id }, payload }))

export type ServiceAction = "deploy" | "stop" | "start" | "restart" | "rollback"

/** Deploy or a lifecycle action (202); returns the deployment it started, if any. */
export const runServiceAction = (serviceId: string, action: ServiceAction) =>
  action === "deploy"
    ? call((c) => c.deployments.deployService({ path: { id: serviceId }, payload: {} }))
    : call((c) => c.deployments[action]({ path: { id: serviceId } })).then((r) => r.deployment)

type Queued = Awaited<ReturnType<typeof runServiceAction>>

/** After a deploy or an action: the new deployment shown at once, then the lists refetched (polling takes it from there). */
const deploymentQueued = (qc: ReturnType<typeof useQueryClient>, serviceId: () => string) => ({
  onSuccess: (deployment: Queued) => {
    if (deployment) {
      qc.setQueryData(
        keys.deployments(serviceId()),
        (old: ReadonlyArray<typeof deployment> | undefined) => [deployment, ...(old ?? []).filter((d) => d.id !== deployment.id)]
      )
    }
  },
  onSettled: () =>
    Promise.all([
      qc.refetchQueries({ queryKey: keys.deployments(serviceId()) }),
      qc.invalidateQueries({ queryKey: keys.service(serviceId()), exact: true }),
      qc.invalidateQueries({ queryKey: keys.services() })
    ])
})

export const useServiceAction = (serviceId: () => string) => {
  const qc = useQueryClient()
  return useMutation<Queued, ApiFailure, ServiceAction>(() => ({
    mutationFn: (action) => runServiceAction(serviceId(), action),
    ...deploymentQueued(qc, serviceId)
  }))
}

/** An upload-source service's stored uploads (newest first, until they expire). */
export const useUploads = (serviceId: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchUploads>>, ApiFailure>(() => ({
    queryKey: keys.uploads(serviceId()),
    queryFn: () => fetchUploads(serviceId())
  }))
const fetchUploads = (id: string) => call((c) => c.uploads.list({ path: { id } })).then((r) => r.items)

/** Builds and deploys a stored upload again (by its id). */
export const useDeployUpload = (serviceId: () => string) => {
  const qc = useQueryClient()
  return useMutation<Queued, ApiFailure, string>(() => ({
    mutationFn: (uploadId) => call((c) => c.deployments.deployService({ path: { id: serviceId() }, payload: { uploadId } })),
    ...deploymentQueued(qc, serviceId)
  }))
}

const domainsKey = (serviceId: string) => ["service", serviceId, "domains"] as const

export const useDomains = (serviceId: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchDomains>>, ApiFailure>(() => ({
    queryKey: domainsKey(serviceId()),
    queryFn: () => fetchDomains(serviceId())
  }))
const fetchDomains = (id: string) => call((c) => c.ingress.listDomains({ path: { id } })).then((r) => r.items)

export const useDomainMutations = (serviceId: () => string) => {
  const qc = useQueryClient()
  const refresh = () => qc.invalidateQueries({ queryKey: domainsKey(serviceId()) })
  return {
    attach: useMutation<unknown, ApiFailure, string>(() => ({
      mutationFn: (hostname) => call((c) => c.ingress.attachDomain({ path: { id: serviceId() }, payload: { hostname } })),
      onSuccess: refresh
    })),
    verify: useMutation<unknown, ApiFailure, string>(() => ({
      mutationFn: (domainId) => call((c) => c.ingress.verifyDomain({ path: { id: serviceId(), domainId } })),
      onSettled: refresh
    })),
    remove: useMutation<unknown, ApiFailure, string>(() => ({
      mutationFn: (domainId) => call((c) => c.ingress.deleteDomain({ path: { id: serviceId(), domainId } })),
      onSuccess: refresh
    }))
  }
}

export const fetchServiceLogTail = (serviceId: string, tail: number) =>
  call((c) => c.deployments.serviceLogs({ path: { id: serviceId }, urlParams: { tail } })).then((r) => r.lines)

export const registriesKey = (projectId: string) => ["projects", projectId, "registries"] as const

export const useRegistries = (projectId: () => string, enabled: () => boolean = () => true) =>
  useQuery<Awaited<ReturnType<typeof fetchRegistries>>, ApiFailure>(() => ({
    queryKey: registriesKey(projectId()),
    queryFn: () => fetchRegistries(projectId()),
    enabled: enabled()
  }))
const fetchRegistries = (id: string) => call((c) => c.registries.list({ path: { id } })).then((r) => r.items)

export const useRegistryMutations = (projectId: () => string) => {
  const qc = useQueryClient()
  const refresh = () => qc.invalidateQueries({ queryKey: registriesKey(projectId()) })
  return {
    create: useMutation<unknown, ApiFailure, CreateRegistry>(() => ({
      mutationFn: (payload) => call((c) => c.registries.create({ path: { id: projectId() }, payload })),
      onSuccess: refresh
    })),
    remove: useMutation<unknown, ApiFailure, string>(() => ({
      mutationFn: (registryId) => call((c) => c.registries.delete({ path: { id: projectId(), registryId } })),
      onSuccess: refresh
    }))
  }
}

export const useDeleteService = () => {
  const qc = useQueryClient()
  return useMutation<unknown, ApiFailure, string>(() => ({
    mutationFn: (id) => call((c) => c.services.delete({ path: { id }, urlParams: {} })),
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: keys.service(id) })
      return qc.invalidateQueries({ queryKey: keys.services() })
    }
  }))
}

export const useDeleteProject = () => {
  const qc = useQueryClient()
  return useMutation<unknown, ApiFailure, string>(() => ({
    mutationFn: (id) => call((c) => c.projects.delete({ path: { id } })),
    onSuccess: (_, id) => {
      qc.removeQueries({ queryKey: keys.project(id) })
      return qc.invalidateQueries({ queryKey: keys.projects })
    }
  }))
}

export const useSecrets = (serviceId: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchSecrets>>, ApiFailure>(() => ({
    queryKey: keys.secrets(serviceId()),
    queryFn: () => fetchSecrets(serviceId())
  }))
const fetchSecrets = (id: string) => call((c) => c.secrets.list({ path: { id } })).then((r) => r.items)

/** Setting or removing a secret changes what a redeploy would run: the service (its pending-changes flag) is refetched too. */
export const useSecretMutations = (serviceId: () => string) => {
  const qc = useQueryClient()
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: keys.secrets(serviceId()) }),
      qc.invalidateQueries({ queryKey: keys.service(serviceId()), exact: true })
    ])
  return {
    set: useMutation<unknown, ApiFailure, { name: string; value: string }>(() => ({
      mutationFn: (payload) => call((c) => c.secrets.set({ path: { id: serviceId() }, payload })),
      onSuccess: refresh
    })),
    remove: useMutation<unknown, ApiFailure, string>(() => ({
      mutationFn: (name) => call((c) => c.secrets.delete({ path: { id: serviceId(), name } })),
      onSuccess: refresh
    }))
  }
}

/** The service's volumes with their sizes (measured by the daemon off its event loop, cached briefly). */
export const useVolumes = (serviceId: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchVolumes>>, ApiFailure>(() => ({
    queryKey: keys.volumes(serviceId()),
    queryFn: () => fetchVolumes(serviceId())
  }))
const fetchVolumes = (id: string) => call((c) => c.volumes.list({ path: { id } })).then((r) => r.items)

export const useVolumeRemove = (serviceId: () => string) => {
  const qc = useQueryClient()
  return useMutation<unknown, ApiFailure, string>(() => ({
    mutationFn: (name) => call((c) => c.volumes.remove({ path: { id: serviceId(), name } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.volumes(serviceId()) })
  }))
}

/** One page of the audit log (super-admins), newest first; `cursor` from the previous page's `nextCursor`. */
export const useAuditPage = (cursor: () => string | undefined) =>
  useQuery<Awaited<ReturnType<typeof fetchAudit>>, ApiFailure>(() => ({
    queryKey: keys.audit(cursor()),
    queryFn: () => fetchAudit(cursor())
  }))
const fetchAudit = (cursor: string | undefined) =>
  call((c) => c.audit.list({ urlParams: { limit: 50, ...(cursor === undefined ? {} : { cursor }) } }))

/** Hosted repositories of the projects the caller can see. */
export const useHostedRepositories = () =>
  useQuery<Awaited<ReturnType<typeof fetchHostedRepositories>>, ApiFailure>(() => ({
    queryKey: keys.hostedRepositories,
    queryFn: fetchHostedRepositories
  }))
const fetchHostedRepositories = () => call((c) => c.registry.repositories()).then((r) => r.items)

/**
 * Change your own password (`POST /v1/me/password`): the daemon checks the current one, then signs
 * out your other sessions and revokes your API tokens unless `keepTokens`; this session stays.
 */
export const changeOwnPassword = (
  input: { readonly currentPassword: string; readonly newPassword: string; readonly keepTokens: boolean }
) => call((c) => c.auth.changePassword({ payload: input }))
