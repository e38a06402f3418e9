/**
 * Labelled inputs with an optional hint and an inline error wired up for
 * screen readers (`aria-invalid`, `aria-describedby`).
 */
import { createUniqueId, For, type JSX, Show, splitProps } from "solid-js"

interface FieldShellProps {
  readonly label: string
  readonly error?: string | undefined
  readonly hint?: string | undefined
  readonly id: string
  readonly children: JSX.Element
}

const FieldShell = (props: FieldShellProps) => (
  <div class="field" classList={{ "field-invalid": props.error !== undefined }}>
    <label for={props.id}>{props.label}</label>
    {props.children}
    <Show when={props.hint}>
      <span class="field-hint" id={`${props.id}-hint`}>
        {props.hint}
      </span>
    </Show>
    <Show when={props.error}>
      <span class="field-error" id={`${props.id}-error`} role="alert">
        {props.error}
      </span>
    </Show>
  </div>
)

const describedBy = (id: string, hint: string | undefined, error: string | undefined): string | undefined => {
  const ids = [hint !== undefined ? `${id}-hint` : undefined, error !== undefined ? `${id}-error` : undefined].filter((x) =>
    x !== undefined
  )
  return ids.length === 0 ? undefined : ids.join(" ")
}

export interface TextFieldProps extends Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value"> {
  readonly label: string
  readonly value: string
  readonly onValue: (v: string) => void
  readonly error?: string | undefined
  readonly hint?: string | undefined
}

export const TextField = (props: TextFieldProps) => {
  const [local, rest] = splitProps(props, ["label", "value", "onValue", "error", "hint", "id"])
  const id = local.id ?? createUniqueId()
  return (
    <FieldShell label={local.label} error={local.error} hint={local.hint} id={id}>
      <input
        {...rest}
        id={id}
        value={local.value}
        onInput={(e) => local.onValue(e.currentTarget.value)}
        aria-invalid={local.error !== undefined}
        aria-describedby={describedBy(id, local.hint, local.error)}
      />
    </FieldShell>
  )
}

export interface SelectFieldProps {
  readonly label: string
  readonly value: string
  readonly onValue: (v: string) => void
  readonly options: ReadonlyArray<{ readonly value: string; readonly label: string }>
  readonly error?: string | undefined
  readonly hint?: string | undefined
  readonly id?: string
  readonly name?: string
  readonly required?: boolean
}

export const SelectField = (props: SelectFieldProps) => {
  const id = props.id ?? createUniqueId()
  return (
    <FieldShell label={props.label} error={props.error} hint={props.hint} id={id}>
      <select
        id={id}
        name={props.name}
        required={props.required}
        value={props.value}
        onChange={(e) => props.onValue(e.currentTarget.value)}
        aria-invalid={props.error !== undefined}
        aria-describedby={describedBy(id, props.hint, props.error)}
      >
        <For each={props.options}>
          {(o) => (
            <option value={o.value} selected={o.value === props.value}>
              {o.label}
            </option>
          )}
        </For>
      </select>
    </FieldShell>
  )
}
