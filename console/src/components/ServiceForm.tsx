/**
 * Create/edit form for a service, covering every source type. Errors come
 * back as field issues (from the typed client's schema check or the API's
 * 400 envelope, whose message starts with the field path) and are shown under
 * the input they name; the first invalid input gets focus.
 */
import { createMemo, createSignal, For, Match, Show, Switch } from "solid-js"
import { ApiFailure, issuesByField, toApiFailure } from "../api/failure.js"
import { errorFor, isFieldKnown, localIssues, type ServiceFormState, SOURCE_TYPES } from "../lib/serviceForm.js"
import { EnvEditor } from "./EnvEditor.js"
import { SelectField, TextField } from "./Field.js"
import { RegistryPicker } from "./RegistryPicker.js"
import { FormError } from "./States.js"
import { VolumeFields } from "./VolumeFields.js"
import { HealthFields, PortFields, SandboxFields } from "./WorkloadFields.js"

export interface ServiceFormProps {
  readonly mode: "create" | "edit"
  readonly initial: ServiceFormState
  readonly projects: ReadonlyArray<{ readonly id: string; readonly name: string }>
  readonly onSubmit: (state: ServiceFormState) => Promise<unknown>
  readonly onCancel?: () => void
}

export const ServiceForm = (props: ServiceFormProps) => {
  const [state, setState] = createSignal<ServiceFormState>(props.initial)
  const [failure, setFailure] = createSignal<ApiFailure>()
  const [busy, setBusy] = createSignal(false)
  let form: HTMLFormElement | undefined

  const set = <K extends keyof ServiceFormState>(key: K) => (value: ServiceFormState[K]) => setState((s) => ({ ...s, [key]: value }))
  const issues = createMemo(() => issuesByField(failure()))
  const err = (field: string) => errorFor(issues(), field)
  const formMessage = () => {
    const f = failure()
    if (f === undefined) return undefined
    const placed = f.issues.some((i) => isFieldKnown(i.field))
    return placed ? "Some fields need attention." : f.message
  }

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    const local = localIssues(state())
    if (local.length > 0) {
      setFailure(new ApiFailure(0, "INVALID_INPUT", local[0]?.message ?? "invalid input", local))
    } else {
      setFailure(undefined)
      setBusy(true)
      try {
        await props.onSubmit(state())
      } catch (error) {
        setFailure(toApiFailure(error))
      } finally {
        setBusy(false)
      }
    }
    if (failure() !== undefined) queueMicrotask(() => form?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus())
  }

  const s = state
  const workload = { state, update: (patch: Partial<ServiceFormState>) => setState((x) => ({ ...x, ...patch })), err }
  return (
    <form
      class="service-form"
      ref={form}
      onSubmit={submit}
      novalidate
      aria-label={props.mode === "create" ? "New service" : "Edit service"}
    >
      <FormError message={formMessage()} id="service-form-error" />

      <fieldset class="card">
        <legend>Service</legend>
        <Show when={props.mode === "create"}>
          <SelectField
            label="Project"
            name="projectId"
            value={s().projectId}
            onValue={set("projectId")}
            error={err("projectId")}
            options={[{ value: "", label: "Choose a project…" }, ...props.projects.map((p) => ({ value: p.id, label: p.name }))]}
          />
        </Show>
        <TextField
          label="Name"
          name="name"
          value={s().name}
          onValue={set("name")}
          error={err("name")}
          readOnly={props.mode === "edit"}
          hint={props.mode === "edit" ? "Names cannot change" : "Lower-case letters, digits and '-'; becomes <name>.<project>.localhost"}
          spellcheck={false}
        />
        <PortFields {...workload} />
      </fieldset>

      <fieldset class="card">
        <legend>Source</legend>
        <div class="segmented" role="radiogroup" aria-label="Source type">
          <For each={SOURCE_TYPES}>
            {(t) => (
              <label class="segment" classList={{ selected: s().sourceType === t.value }} title={t.hint}>
                <input
                  type="radio"
                  name="sourceType"
                  value={t.value}
                  checked={s().sourceType === t.value}
                  onChange={() => set("sourceType")(t.value)}
                />
                {t.label}
              </label>
            )}
          </For>
        </div>
        <p class="muted">{SOURCE_TYPES.find((t) => t.value === s().sourceType)?.hint}</p>
        <Switch>
          <Match when={s().sourceType === "image"}>
            <TextField
              label="Image reference"
              name="image"
              value={s().image}
              onValue={set("image")}
              error={err("source.image") ?? err("source")}
              placeholder="registry.example/app:1.2"
              spellcheck={false}
            />
            <RegistryPicker projectId={s().projectId} value={s().registryId} onValue={set("registryId")} error={err("source.registryId")} />
          </Match>
          <Match when={s().sourceType === "hosted"}>
            <TextField
              label="Tag"
              name="tag"
              value={s().tag}
              onValue={set("tag")}
              error={err("source.tag") ?? err("source")}
              hint="Deployed from <project>/<service> in Denia's registry"
            />
          </Match>
          <Match when={s().sourceType === "git"}>
            <TextField
              label="Repository URL"
              name="gitUrl"
              value={s().gitUrl}
              onValue={set("gitUrl")}
              error={err("source.url") ?? err("source")}
              placeholder="https://example.com/org/app.git"
              spellcheck={false}
            />
            <div class="row">
              <TextField label="Ref" name="gitRef" value={s().gitRef} onValue={set("gitRef")} error={err("source.ref")} />
              <TextField
                label="Dockerfile"
                name="gitDockerfile"
                value={s().gitDockerfile}
                onValue={set("gitDockerfile")}
                error={err("source.dockerfile")}
              />
              <TextField
                label="Context"
                name="gitContext"
                value={s().gitContext}
                onValue={set("gitContext")}
                error={err("source.context")}
              />
            </div>
            <TextField
              label="Credential (optional)"
              name="gitCredentialRef"
              value={s().gitCredentialRef}
              onValue={set("gitCredentialRef")}
              error={err("source.credentialRef")}
              hint="Name of a service secret holding the Git credential: a token (or user:token) for https, a deploy key for ssh"
            />
            <div class="row">
              <SelectField
                label="Auto-deploy"
                name="gitAutoDeploy"
                value={s().gitAutoDeploy}
                onValue={(v) => set("gitAutoDeploy")(v === "webhook" || v === "poll" ? v : "")}
                error={err("source.autoDeploy.mode") ?? err("source.autoDeploy")}
                hint="Deploy new commits by webhook (URL shown once) or by polling the remote"
                options={[
                  { value: "", label: "Off" },
                  { value: "webhook", label: "Webhook" },
                  { value: "poll", label: "Poll" }
                ]}
              />
              <Show when={s().gitAutoDeploy !== ""}>
                <TextField
                  label="Branch (optional)"
                  name="gitAutoBranch"
                  value={s().gitAutoBranch}
                  onValue={set("gitAutoBranch")}
                  error={err("source.autoDeploy.branch")}
                  hint="Default: the ref above"
                />
                <TextField
                  label="Tag pattern (optional)"
                  name="gitAutoTagPattern"
                  value={s().gitAutoTagPattern}
                  onValue={set("gitAutoTagPattern")}
                  error={err("source.autoDeploy.tagPattern")}
                  hint="Deploy the highest matching tag instead, e.g. v*"
                />
              </Show>
              <Show when={s().gitAutoDeploy === "poll"}>
                <TextField
                  label="Poll every (s)"
                  name="gitAutoInterval"
                  value={s().gitAutoInterval}
                  onValue={set("gitAutoInterval")}
                  error={err("source.autoDeploy.intervalSeconds")}
                  placeholder="300"
                  inputmode="numeric"
                />
              </Show>
            </div>
          </Match>
          <Match when={s().sourceType === "upload"}>
            <div class="row">
              <TextField
                label="Dockerfile"
                name="uploadDockerfile"
                value={s().uploadDockerfile}
                onValue={set("uploadDockerfile")}
                error={err("source.dockerfile") ?? err("source")}
              />
              <TextField
                label="Context"
                name="uploadContext"
                value={s().uploadContext}
                onValue={set("uploadContext")}
                error={err("source.context")}
              />
            </div>
            <p class="field-hint">
              Deploy it from the project directory with <code>denia push</code> (after{" "}
              <code>denia init</code>); the context is uploaded, built on this node and its build log shows here under Deployments.
            </p>
          </Match>
        </Switch>
        <Show when={s().sourceType === "git" || s().sourceType === "upload"}>
          <TextField
            label="Build secrets (optional)"
            name="buildSecrets"
            value={s().buildSecrets}
            onValue={set("buildSecrets")}
            error={err("source.buildSecrets")}
            hint="id=secret pairs (or one name for both): service secrets a Dockerfile reads with RUN --mount=type=secret,id=…; never stored in a layer or shown in the log"
          />
        </Show>
      </fieldset>

      <fieldset class="card">
        <legend>Environment</legend>
        <EnvEditor label="Service variables" rows={s().env} onChange={set("env")} error={err("env")} idPrefix="service-env" />
      </fieldset>

      <fieldset class="card">
        <legend>Health and limits</legend>
        <HealthFields {...workload} />
        <div class="row">
          <TextField
            label="CPU (millicores)"
            name="cpuMillis"
            inputmode="numeric"
            value={s().cpuMillis}
            onValue={set("cpuMillis")}
            error={err("limits.cpuMillis")}
            hint="Empty: project or node default"
          />
          <TextField
            label="Memory (MB)"
            name="memoryMb"
            inputmode="numeric"
            value={s().memoryMb}
            onValue={set("memoryMb")}
            error={err("limits.memoryMb")}
          />
          <TextField
            label="Max processes"
            name="pids"
            inputmode="numeric"
            value={s().pids}
            onValue={set("pids")}
            error={err("limits.pids")}
          />
        </div>
        <Show when={!s().worker}>
          <label class="check">
            <input
              type="checkbox"
              name="tlsEnabled"
              checked={s().tlsEnabled}
              onChange={(e) => set("tlsEnabled")(e.currentTarget.checked)}
            />
            Serve custom domains over HTTPS (TLS)
          </label>
        </Show>
        <Show when={err("tlsEnabled")}>
          <span class="field-error" role="alert">
            {err("tlsEnabled")}
          </span>
        </Show>
      </fieldset>

      <fieldset class="card">
        <legend>Sandbox</legend>
        <p class="muted">Root in the image gets a container engine's default capabilities, held only inside the replica.</p>
        <SandboxFields {...workload} />
      </fieldset>

      <fieldset class="card">
        <legend>Scaling</legend>
        <label class="check">
          <input
            type="checkbox"
            name="autoscaleEnabled"
            checked={s().autoscaleEnabled}
            onChange={(e) => set("autoscaleEnabled")(e.currentTarget.checked)}
          />
          Autoscale
        </label>
        <Show when={s().autoscaleEnabled}>
          <div class="row">
            <TextField
              label="Min replicas"
              name="minReplicas"
              inputmode="numeric"
              value={s().minReplicas}
              onValue={set("minReplicas")}
              error={err("autoscale.minReplicas") ?? err("autoscale")}
              hint="0 scales to zero when idle"
            />
            <TextField
              label="Max replicas"
              name="maxReplicas"
              inputmode="numeric"
              value={s().maxReplicas}
              onValue={set("maxReplicas")}
              error={err("autoscale.maxReplicas")}
            />
            <TextField
              label="CPU target (%)"
              name="cpuTargetPercent"
              inputmode="numeric"
              value={s().cpuTargetPercent}
              onValue={set("cpuTargetPercent")}
              error={err("autoscale.cpuTargetPercent")}
            />
          </div>
          <div class="row">
            <TextField
              label="Memory target (%)"
              name="memoryTargetPercent"
              inputmode="numeric"
              value={s().memoryTargetPercent}
              onValue={set("memoryTargetPercent")}
              error={err("autoscale.memoryTargetPercent")}
            />
            <TextField
              label="Scale-down delay (s)"
              name="scaleDownStabilizationSeconds"
              inputmode="numeric"
              value={s().scaleDownStabilizationSeconds}
              onValue={set("scaleDownStabilizationSeconds")}
              error={err("autoscale.scaleDownStabilizationSeconds")}
            />
            <TextField
              label="Idle before zero (s)"
              name="idleSeconds"
              inputmode="numeric"
              value={s().idleSeconds}
              onValue={set("idleSeconds")}
              error={err("autoscale.idleSeconds")}
            />
          </div>
        </Show>
      </fieldset>

      <fieldset class="card">
        <legend>Extra endpoints (TCP/UDP)</legend>
        <Show when={s().endpoints.length > 0} fallback={<p class="muted">Only HTTP on the service port.</p>}>
          <For each={s().endpoints}>
            {(ep, i) => (
              <div class="row endpoint-row">
                <SelectField
                  label={`Endpoint ${i() + 1} protocol`}
                  value={ep.protocol}
                  onValue={(v) =>
                    set("endpoints")(s().endpoints.map((x, j) => (j === i() ? { ...x, protocol: v === "udp" ? "udp" : "tcp" } : x)))}
                  options={[
                    { value: "tcp", label: "TCP" },
                    { value: "udp", label: "UDP" }
                  ]}
                />
                <TextField
                  label={`Endpoint ${i() + 1} port`}
                  inputmode="numeric"
                  value={ep.port}
                  onValue={(v) => set("endpoints")(s().endpoints.map((x, j) => (j === i() ? { ...x, port: v } : x)))}
                />
                <button
                  type="button"
                  class="btn btn-ghost"
                  aria-label={`Remove endpoint ${i() + 1}`}
                  onClick={() => set("endpoints")(s().endpoints.filter((_, j) => j !== i()))}
                >
                  ✕
                </button>
              </div>
            )}
          </For>
        </Show>
        <Show when={err("endpoints")}>
          <span class="field-error" role="alert">
            {err("endpoints")}
          </span>
        </Show>
        <button type="button" class="btn" onClick={() => set("endpoints")([...s().endpoints, { protocol: "tcp", port: "" }])}>
          Add endpoint
        </button>
      </fieldset>

      <VolumeFields rows={s().volumes} onRows={set("volumes")} err={err} />

      <div class="actions sticky-actions">
        <button type="submit" class="btn btn-primary" disabled={busy()}>
          {busy() ? "Saving…" : props.mode === "create" ? "Create service" : "Save changes"}
        </button>
        <Show when={props.onCancel}>
          {(cancel) => (
            <button type="button" class="btn" onClick={() => cancel()()}>
              Cancel
            </button>
          )}
        </Show>
      </div>
    </form>
  )
}
