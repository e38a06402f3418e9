/** Edit a service's source and settings (PATCH with the whole editable spec). */
import { A, useNavigate, useParams } from "@solidjs/router"
import { useQueryClient } from "@tanstack/solid-query"
import { Match, Switch } from "solid-js"
import { keys, updateService, useService } from "../api/queries.js"
import { ServiceForm } from "../components/ServiceForm.js"
import { ErrorState, Loading } from "../components/States.js"
import { formToSpec, serviceToForm } from "../lib/serviceForm.js"

export default function ServiceEdit() {
  const params = useParams<{ id: string }>()
  const navigate = useNavigate()
  const qc = useQueryClient()
  const service = useService(() => params.id)
  return (
    <Switch>
      <Match when={service.isPending}>
        <Loading />
      </Match>
      <Match when={service.isError}>
        <ErrorState error={service.error} retry={() => void service.refetch()} />
      </Match>
      <Match when={service.data}>
        {(s) => (
          <section aria-labelledby="edit-service-title">
            <nav aria-label="Breadcrumb" class="crumbs">
              <A href={`/services/${s().id}`}>{s().name}</A> <span aria-hidden="true">/</span>
            </nav>
            <header class="page-head">
              <h1 id="edit-service-title">Edit {s().name}</h1>
            </header>
            <ServiceForm
              mode="edit"
              initial={serviceToForm(s())}
              projects={[]}
              onCancel={() => navigate(`/services/${s().id}`)}
              onSubmit={async (state) => {
                const updated = await updateService(s().id, formToSpec(state))
                qc.setQueryData(keys.service(updated.id), updated)
                await qc.invalidateQueries({ queryKey: keys.services() })
                navigate(`/services/${updated.id}`)
              }}
            />
          </section>
        )}
      </Match>
    </Switch>
  )
}
