/**
 * The workload part of the service form: worker or port, the health check
 * (HTTP path, TCP, or for workers: still running after a settle time),
 * capabilities added/dropped and the /dev/shm size.
 */
import { Show } from "solid-js"
import type { ServiceFormState } from "../lib/serviceForm.js"
import { SelectField, TextField } from "./Field.js"

export interface WorkloadFieldsProps {
  readonly state: () => ServiceFormState
  readonly update: (patch: Partial<ServiceFormState>) => void
  readonly err: (field: string) => string | undefined
}

const HEALTH_KINDS = [
  { value: "http", label: "HTTP path answers 2xx/3xx" },
  { value: "tcp", label: "TCP: the port accepts a connection" },
  { value: "running", label: "Worker: still running after a settle time" }
] as const

/** Port (or worker) with the service's name and kind. */
export const PortFields = (props: WorkloadFieldsProps) => {
  const s = props.state
  return (
    <>
      <label class="check">
        <input type="checkbox" name="worker" checked={s().worker} onChange={(e) => props.update({ worker: e.currentTarget.checked })} />
        Worker (no port): no route, no PORT; healthy when still running after the settle time
      </label>
      <Show when={!s().worker}>
        <TextField
          label="Port"
          name="port"
          inputmode="numeric"
          value={s().port}
          onValue={(port) => props.update({ port })}
          error={props.err("port")}
          hint="The port the app listens on"
        />
      </Show>
      <Show when={s().worker && props.err("port")}>
        <span class="field-error" role="alert">
          {props.err("port")}
        </span>
      </Show>
    </>
  )
}

/** Health check kind and its settings. */
export const HealthFields = (props: WorkloadFieldsProps) => {
  const s = props.state
  const kind = () => (s().worker ? "running" : s().healthType)
  return (
    <>
      <SelectField
        label="Health check"
        name="healthType"
        value={kind()}
        onValue={(v) => props.update(v === "running" ? { worker: true } : { worker: false, healthType: v === "tcp" ? "tcp" : "http" })}
        error={props.err("health.type")}
        options={HEALTH_KINDS.map((k) => ({ value: k.value, label: k.label }))}
      />
      <div class="row">
        <Show when={kind() === "http"}>
          <TextField
            label="Health path"
            name="healthPath"
            value={s().healthPath}
            onValue={(healthPath) => props.update({ healthPath })}
            error={props.err("health.path") ?? props.err("health")}
          />
        </Show>
        <Show
          when={kind() === "running"}
          fallback={
            <TextField
              label="Health timeout (s)"
              name="healthTimeout"
              inputmode="numeric"
              value={s().healthTimeout}
              onValue={(healthTimeout) => props.update({ healthTimeout })}
              error={props.err("health.timeoutSeconds")}
            />
          }
        >
          <TextField
            label="Settle time (s)"
            name="settleSeconds"
            inputmode="numeric"
            value={s().settleSeconds}
            onValue={(settleSeconds) => props.update({ settleSeconds })}
            error={props.err("health.settleSeconds") ?? props.err("health")}
            hint="Healthy when the process still runs after this long"
          />
        </Show>
      </div>
    </>
  )
}

/** Capabilities (add/drop lists) and /dev/shm. */
export const SandboxFields = (props: WorkloadFieldsProps) => {
  const s = props.state
  return (
    <div class="row">
      <TextField
        label="Add capabilities"
        name="capAdd"
        value={s().capAdd}
        onValue={(capAdd) => props.update({ capAdd })}
        error={props.err("capabilities.add") ?? (props.err("capabilities.drop") === undefined ? props.err("capabilities") : undefined)}
        hint="e.g. NET_ADMIN SYS_PTRACE (only from the safe list)"
        spellcheck={false}
      />
      <TextField
        label="Drop capabilities"
        name="capDrop"
        value={s().capDrop}
        onValue={(capDrop) => props.update({ capDrop })}
        error={props.err("capabilities.drop")}
        hint="ALL = no capabilities at all (strictest)"
        spellcheck={false}
      />
      <TextField
        label="/dev/shm (MiB)"
        name="shmMb"
        inputmode="numeric"
        value={s().shmMb}
        onValue={(shmMb) => props.update({ shmMb })}
        error={props.err("shmMb")}
      />
    </div>
  )
}
