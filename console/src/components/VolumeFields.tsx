/**
 * The service form's volumes: one row per volume (name, mount path,
 * read-only), added and removed in place; each input shows its own issue
 * (`volumes[1].mountPath`), anything else about the list under it. A note
 * says what volumes change: one replica, recreate on redeploy.
 */
import { For, Show } from "solid-js"
import { emptyVolumeRow, type VolumeRow } from "../lib/volumeForm.js"
import { TextField } from "./Field.js"

export interface VolumeFieldsProps {
  readonly rows: ReadonlyArray<VolumeRow>
  readonly onRows: (rows: ReadonlyArray<VolumeRow>) => void
  readonly err: (field: string) => string | undefined
}

export const VolumeFields = (props: VolumeFieldsProps) => {
  const patch = (i: number, change: Partial<VolumeRow>) => props.onRows(props.rows.map((r, j) => (j === i ? { ...r, ...change } : r)))
  /** An issue about the list as a whole (`volumes: at most 16 …`), not about one of its inputs. */
  const listError = () => {
    const message = props.err("volumes")
    const onRow = props.rows.some((_, i) => props.err(`volumes[${i}]`) === message)
    return onRow ? undefined : message
  }
  return (
    <fieldset class="card">
      <legend>Volumes</legend>
      <Show
        when={props.rows.length > 0}
        fallback={<p class="muted">No volumes: everything the service writes is lost on the next deploy.</p>}
      >
        <p class="muted" role="note">
          A service with volumes runs one replica and redeploys with the recreate strategy: the old replica stops before the new one starts
          on the same data (a short gap). Removing a volume here unmounts it; its data stays on the node until you delete it from the
          service's Volumes section.
        </p>
        <For each={props.rows}>
          {(row, i) => (
            <div class="row volume-row">
              <TextField
                label={`Volume ${i() + 1} name`}
                value={row.name}
                onValue={(name) => patch(i(), { name })}
                error={props.err(`volumes[${i()}].name`)}
                hint="a-z, 0-9 and '-'"
                spellcheck={false}
              />
              <TextField
                label={`Volume ${i() + 1} mount path`}
                value={row.mountPath}
                onValue={(mountPath) => patch(i(), { mountPath })}
                error={props.err(`volumes[${i()}].mountPath`) ?? props.err(`volumes[${i()}]`)}
                hint="Absolute, e.g. /var/lib/postgresql/data"
                spellcheck={false}
              />
              <label class="check">
                <input
                  type="checkbox"
                  checked={row.readOnly}
                  onChange={(e) => patch(i(), { readOnly: e.currentTarget.checked })}
                />
                Volume {i() + 1} read-only
              </label>
              <button
                type="button"
                class="btn btn-ghost"
                aria-label={`Remove volume ${i() + 1}`}
                onClick={() => props.onRows(props.rows.filter((_, j) => j !== i()))}
              >
                ✕
              </button>
            </div>
          )}
        </For>
      </Show>
      <Show when={listError()}>
        <span class="field-error" role="alert">
          {listError()}
        </span>
      </Show>
      <button type="button" class="btn" onClick={() => props.onRows([...props.rows, emptyVolumeRow])}>
        Add volume
      </button>
    </fieldset>
  )
}
