/** New service: project (preselected from `?project=`), name, source and settings. */
import { useNavigate, useSearchParams } from "@solidjs/router"
import { useQueryClient } from "@tanstack/solid-query"
import { rotateHook } from "../api/git.js"
import { createService, keys, useProjects } from "../api/queries.js"
import { ServiceForm } from "../components/ServiceForm.js"
import { Empty, QueryList } from "../components/States.js"
import { emptyServiceForm, formToCreate } from "../lib/serviceForm.js"

export default function ServiceCreate() {
  const navigate = useNavigate()
  const [params] = useSearchParams()
  const qc = useQueryClient()
  const projects = useProjects()
  const preselected = () => {
    const p = params["project"]
    const id = Array.isArray(p) ? p[0] : p
    const list = projects.data ?? []
    return id !== undefined && list.some((x) => x.id === id) ? id : list.length === 1 ? (list[0]?.id ?? "") : ""
  }
  return (
    <section aria-labelledby="new-service-title">
      <header class="page-head">
        <h1 id="new-service-title">New service</h1>
      </header>
      <QueryList
        query={projects}
        empty={
          <>
            <Empty title="No project to put it in">
              <p class="muted">Services live in projects; create a project first.</p>
            </Empty>
          </>
        }
      >
        {(list) => (
          <ServiceForm
            mode="create"
            initial={emptyServiceForm(preselected())}
            projects={list()}
            onCancel={() => history.back()}
            onSubmit={async (state) => {
              const service = await createService(formToCreate(state))
              await qc.invalidateQueries({ queryKey: keys.services() })
              // a webhook service gets its URL now; the Git section shows it this once
              const webhook = service.source.type === "git" && service.source.autoDeploy?.mode === "webhook"
                ? await rotateHook(service.id)
                : undefined
              navigate(`/services/${service.id}`, webhook === undefined ? {} : { state: { webhook } })
            }}
          />
        )}
      </QueryList>
    </section>
  )
}
