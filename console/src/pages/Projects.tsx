/** All projects the user can see, and (for super-admins) a form to create one. */
import { A, useNavigate, useSearchParams } from "@solidjs/router"
import { createSignal, Show } from "solid-js"
import { issuesByField } from "../api/failure.js"
import { useCreateProject, useMe, useProjects } from "../api/queries.js"
import { DataTable } from "../components/DataTable.js"
import { TextField } from "../components/Field.js"
import { Empty, FormError, QueryList } from "../components/States.js"
import { formatTime } from "../lib/format.js"

export default function Projects() {
  const projects = useProjects()
  const me = useMe()
  const [params, setParams] = useSearchParams()
  const creating = () => params["new"] !== undefined
  return (
    <section aria-labelledby="projects-title">
      <header class="page-head">
        <h1 id="projects-title">Projects</h1>
        <Show when={me.data?.superAdmin && !creating()}>
          <button type="button" class="btn btn-primary" onClick={() => setParams({ new: "1" })}>
            New project
          </button>
        </Show>
      </header>
      <Show when={creating()}>
        <CreateProjectForm onDone={() => setParams({ new: undefined })} />
      </Show>
      <QueryList
        query={projects}
        loadingLabel="Loading projects…"
        errorTitle="Could not load projects"
        empty={
          <>
            <Empty title="No projects yet">
              <p class="muted">
                {me.data?.superAdmin
                  ? "Create the first project to group services and their shared settings."
                  : "Ask an admin to add you to a project."}
              </p>
            </Empty>
          </>
        }
      >
        {(list) => (
          <DataTable
            caption="Projects"
            columns={["Name", "Shared env", "Created"]}
            items={list()}
            row={(p) => (
              <tr>
                <td>
                  <A href={`/projects/${p.id}`}>{p.name}</A>
                </td>
                <td>{Object.keys(p.sharedEnv).length} variables</td>
                <td>{formatTime(p.createdAt)}</td>
              </tr>
            )}
          />
        )}
      </QueryList>
    </section>
  )
}

const CreateProjectForm = (props: { readonly onDone: () => void }) => {
  const navigate = useNavigate()
  const create = useCreateProject()
  const [name, setName] = createSignal("")
  const issues = () => issuesByField(create.error ?? undefined)
  const submit = (e: SubmitEvent) => {
    e.preventDefault()
    create.mutate(
      { name: name().trim(), sharedEnv: {}, defaultLimits: null },
      { onSuccess: (p) => navigate(`/projects/${p.id}`) }
    )
  }
  return (
    <form class="card inline-form" onSubmit={submit} aria-label="New project" novalidate>
      <FormError message={create.error !== null && issues()["name"] === undefined ? create.error.message : undefined} />
      <TextField
        label="Project name"
        name="name"
        required
        value={name()}
        onValue={setName}
        error={issues()["name"]}
        hint="Lower-case letters, digits and '-'; part of every service URL"
        autofocus
      />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create project"}
        </button>
        <button type="button" class="btn" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  )
}
