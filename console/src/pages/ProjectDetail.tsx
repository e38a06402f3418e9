/** One project: its services, shared environment, members and registry credentials. */
import { A, useNavigate, useParams } from "@solidjs/router"
import { createEffect, createSignal, Match, Show, Switch } from "solid-js"
import { issuesByField } from "../api/failure.js"
import {
  useDeleteProject,
  useMe,
  useMembers,
  useProject,
  useRemoveMember,
  useSetMember,
  useUpdateProject,
  useUsers
} from "../api/queries.js"
import { DataTable } from "../components/DataTable.js"
import { EnvEditor } from "../components/EnvEditor.js"
import { SelectField, TextField } from "../components/Field.js"
import { Registries } from "../components/Registries.js"
import { ServiceTable } from "../components/ServiceTable.js"
import { ErrorState, FormError, Loading } from "../components/States.js"
import { envIssues, errorFor, type Pair } from "../lib/serviceForm.js"

export default function ProjectDetail() {
  const params = useParams<{ id: string }>()
  const project = useProject(() => params.id)
  return (
    <Switch>
      <Match when={project.isPending}>
        <Loading label="Loading project…" />
      </Match>
      <Match when={project.isError}>
        <ErrorState error={project.error} retry={() => void project.refetch()} title="Could not load the project" />
      </Match>
      <Match when={project.data}>
        {(p) => (
          <section aria-labelledby="project-title">
            <nav aria-label="Breadcrumb" class="crumbs">
              <A href="/projects">Projects</A> <span aria-hidden="true">/</span>
            </nav>
            <header class="page-head">
              <h1 id="project-title">{p().name}</h1>
              <A class="btn btn-primary" href={`/services/new?project=${p().id}`}>
                New service
              </A>
            </header>
            <div class="card">
              <h2>Services</h2>
              <ServiceTable projectId={p().id} />
            </div>
            <SharedEnv projectId={p().id} env={p().sharedEnv} />
            <Members projectId={p().id} />
            <div class="card" role="region" aria-labelledby="registries-title">
              <h2 id="registries-title">Registries</h2>
              <Registries projectId={p().id} />
            </div>
            <DeleteProject projectId={p().id} name={p().name} />
          </section>
        )}
      </Match>
    </Switch>
  )
}

const SharedEnv = (props: { readonly projectId: string; readonly env: Readonly<Record<string, string>> }) => {
  const update = useUpdateProject(() => props.projectId)
  const [rows, setRows] = createSignal<ReadonlyArray<Pair>>([])
  const [saved, setSaved] = createSignal(false)
  createEffect(() => setRows(Object.entries(props.env).map(([key, value]) => ({ key, value }))))
  const [localError, setLocalError] = createSignal<string>()
  const issues = () => (localError() === undefined ? issuesByField(update.error ?? undefined) : { sharedEnv: localError() ?? "" })
  const save = (e: SubmitEvent) => {
    e.preventDefault()
    setSaved(false)
    setLocalError(envIssues(rows(), "sharedEnv")[0]?.message)
    if (localError() !== undefined) return
    const env = Object.fromEntries(rows().filter((r) => r.key !== "" || r.value !== "").map((r) => [r.key, r.value]))
    update.mutate({ sharedEnv: env }, { onSuccess: () => setSaved(true) })
  }
  return (
    <form class="card" onSubmit={save} aria-labelledby="shared-env-title">
      <h2 id="shared-env-title">Shared environment</h2>
      <p class="muted">Every service in the project gets these; a service's own env wins on conflicts.</p>
      <FormError
        message={localError() === undefined && update.error !== null && errorFor(issues(), "sharedEnv") === undefined
          ? update.error.message
          : undefined}
      />
      <EnvEditor label="Variables" rows={rows()} onChange={setRows} error={errorFor(issues(), "sharedEnv")} idPrefix="shared-env" />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={update.isPending}>
          {update.isPending ? "Saving…" : "Save shared env"}
        </button>
        <Show when={saved()}>
          <span role="status" class="muted">
            Saved.
          </span>
        </Show>
      </div>
    </form>
  )
}

const ROLES = [
  { value: "viewer", label: "Viewer" },
  { value: "operator", label: "Operator" },
  { value: "admin", label: "Admin" }
] as const

const isRole = (r: string): r is "viewer" | "operator" | "admin" => r === "viewer" || r === "operator" || r === "admin"

const Members = (props: { readonly projectId: string }) => {
  const me = useMe()
  const members = useMembers(() => props.projectId)
  const users = useUsers(() => me.data?.superAdmin === true)
  const setMember = useSetMember(() => props.projectId)
  const remove = useRemoveMember(() => props.projectId)
  const [userId, setUserId] = createSignal("")
  const [role, setRole] = createSignal<"viewer" | "operator" | "admin">("viewer")
  const nameOf = (id: string) => users.data?.find((u) => u.id === id)?.username ?? id
  const issues = () => issuesByField(setMember.error ?? undefined)
  const add = (e: SubmitEvent) => {
    e.preventDefault()
    setMember.mutate({ userId: userId().trim(), role: role() }, { onSuccess: () => setUserId("") })
  }
  return (
    <div class="card" aria-labelledby="members-title" role="region">
      <h2 id="members-title">Members</h2>
      <Switch>
        <Match when={members.isPending}>
          <Loading label="Loading members…" />
        </Match>
        <Match when={members.isError && members.error?.status === 403}>
          <p class="muted">Only project admins can see and change members.</p>
        </Match>
        <Match when={members.isError}>
          <ErrorState error={members.error} retry={() => void members.refetch()} />
        </Match>
        <Match when={members.data}>
          {(list) => (
            <>
              <Show when={list().length > 0} fallback={<p class="muted">No members yet. Super-admins can always see every project.</p>}>
                <DataTable
                  caption="Members"
                  columns={["User", "Role", { label: "Actions", hidden: true }]}
                  items={list()}
                  row={(m) => (
                    <tr>
                      <td>{nameOf(m.userId)}</td>
                      <td>{m.role}</td>
                      <td>
                        <button
                          type="button"
                          class="btn btn-ghost"
                          disabled={remove.isPending}
                          onClick={() => remove.mutate(m.userId)}
                          aria-label={`Remove ${nameOf(m.userId)}`}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  )}
                />
              </Show>
              <FormError message={remove.error?.message} />
              <form class="inline-form row" onSubmit={add} aria-label="Add member" novalidate>
                <Show
                  when={users.data}
                  fallback={<TextField label="User id" name="userId" value={userId()} onValue={setUserId} error={issues()["userId"]} />}
                >
                  {(all) => (
                    <SelectField
                      label="User"
                      name="userId"
                      value={userId()}
                      onValue={setUserId}
                      error={issues()["userId"]}
                      options={[
                        { value: "", label: "Choose a user…" },
                        ...all().filter((u) => !u.superAdmin).map((u) => ({ value: u.id, label: u.username }))
                      ]}
                    />
                  )}
                </Show>
                <SelectField label="Role" name="role" value={role()} onValue={(r) => isRole(r) && setRole(r)} options={ROLES} />
                <button type="submit" class="btn" disabled={setMember.isPending || userId() === ""}>
                  Add or change member
                </button>
              </form>
              <FormError message={setMember.error !== null && issues()["userId"] === undefined ? setMember.error.message : undefined} />
            </>
          )}
        </Match>
      </Switch>
    </div>
  )
}

/** Admins can delete an empty project; the API refuses (409) while it still has services or jobs. */
const DeleteProject = (props: { readonly projectId: string; readonly name: string }) => {
  const remove = useDeleteProject()
  const navigate = useNavigate()
  const me = useMe()
  const isAdmin = () =>
    me.data?.superAdmin === true || me.data?.memberships.some((m) => m.projectId === props.projectId && m.role === "admin") === true
  return (
    <Show when={isAdmin()}>
      <div class="card" role="region" aria-labelledby="danger-title">
        <h2 id="danger-title">Delete project</h2>
        <p class="muted">Only an empty project can be deleted: delete its services first.</p>
        <FormError message={remove.error?.message} />
        <button
          type="button"
          class="btn btn-danger"
          disabled={remove.isPending}
          onClick={() => {
            if (window.confirm(`Delete project ${props.name}?`)) {
              remove.mutate(props.projectId, {
                onSuccess: () => navigate("/projects", { replace: true })
              })
            }
          }}
        >
          Delete project {props.name}
        </button>
      </div>
    </Show>
  )
}
