/** Git sources in the query cache: a service's Git status, webhook rotation, "check now" and the host-key reset. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/solid-query"
import { call } from "./client.js"
import type { ApiFailure } from "./failure.js"
import { keys } from "./queries.js"

export const gitKeys = { status: (serviceId: string) => ["service", serviceId, "git"] as const }

const fetchGitStatus = (id: string) => call((c) => c.git.status({ path: { id } }))

export const useGitStatus = (serviceId: () => string) =>
  useQuery<Awaited<ReturnType<typeof fetchGitStatus>>, ApiFailure>(() => ({
    queryKey: gitKeys.status(serviceId()),
    queryFn: () => fetchGitStatus(serviceId())
  }))

/** A new webhook secret; the response (URL and secret) is the only time they are shown. */
export const rotateHook = (id: string) => call((c) => c.git.rotateHook({ path: { id } }))
export type WebhookCreated = Awaited<ReturnType<typeof rotateHook>>

export const useGitMutations = (serviceId: () => string) => {
  const qc = useQueryClient()
  const refresh = () =>
    Promise.all([
      qc.invalidateQueries({ queryKey: gitKeys.status(serviceId()) }),
      qc.invalidateQueries({ queryKey: keys.deployments(serviceId()) })
    ])
  return {
    rotate: useMutation<WebhookCreated, ApiFailure, void>(() => ({ mutationFn: () => rotateHook(serviceId()), onSuccess: refresh })),
    check: useMutation<Awaited<ReturnType<typeof check>>, ApiFailure, void>(() => ({
      mutationFn: () => check(serviceId()),
      onSuccess: refresh
    })),
    resetHostKey: useMutation<void, ApiFailure, void>(() => ({ mutationFn: () => resetHostKey(serviceId()), onSuccess: refresh }))
  }
}
const check = (id: string) => call((c) => c.git.check({ path: { id } }))
const resetHostKey = (id: string) => call((c) => c.git.resetHostKey({ path: { id } })).then(() => undefined)
