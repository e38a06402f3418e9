/** Key/value rows for environment variables, with add and remove. */
import { For, Show } from "solid-js"
import type { Pair } from "../lib/serviceForm.js"

export const EnvEditor = (props: {
  readonly label: string
  readonly rows: ReadonlyArray<Pair>
  readonly onChange: (rows: ReadonlyArray<Pair>) => void
  readonly error?: string | undefined
  readonly idPrefix: string
}) => {
  const update = (i: number, patch: Partial<Pair>) => props.onChange(props.rows.map((r, j) => (j === i ? { ...r, ...patch } : r)))
  return (
    <fieldset class="env-editor" aria-describedby={props.error !== undefined ? `${props.idPrefix}-error` : undefined}>
      <legend>{props.label}</legend>
      <Show when={props.rows.length > 0} fallback={<p class="muted">No variables.</p>}>
        <table class="kv">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={props.rows}>
              {(row, i) => (
                <tr>
                  <td>
                    <input
                      aria-label={`Variable ${i() + 1} name`}
                      value={row.key}
                      spellcheck={false}
                      onInput={(e) => update(i(), { key: e.currentTarget.value })}
                    />
                  </td>
                  <td>
                    <input
                      aria-label={`Variable ${i() + 1} value`}
                      value={row.value}
                      spellcheck={false}
                      onInput={(e) => update(i(), { value: e.currentTarget.value })}
                    />
                  </td>
                  <td>
                    <button
                      type="button"
                      class="btn btn-ghost"
                      aria-label={`Remove variable ${row.key === "" ? i() + 1 : row.key}`}
                      onClick={() => props.onChange(props.rows.filter((_, j) => j !== i()))}
                    >
                      ✕
                    </button>
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
      <Show when={props.error}>
        <span class="field-error" id={`${props.idPrefix}-error`} role="alert">
          {props.error}
        </span>
      </Show>
      <button type="button" class="btn" onClick={() => props.onChange([...props.rows, { key: "", value: "" }])}>
        Add variable
      </button>
    </fieldset>
  )
}
