/** The frame of the signed-out pages (login, setup): a centred card holding one form. */
import { type JSX, Show } from "solid-js"
import { FormError } from "./States.js"

export const AuthCard = (props: {
  readonly id: string
  readonly title: string
  readonly intro?: string | undefined
  readonly error: string | undefined
  readonly notice?: string | undefined
  readonly submitLabel: string
  readonly busyLabel: string
  readonly busy: boolean
  readonly onSubmit: (e: SubmitEvent) => void
  readonly footer?: JSX.Element
  readonly children: JSX.Element
}) => (
  <div class="auth-page">
    <form class="card auth-card" onSubmit={(e) => props.onSubmit(e)} aria-labelledby={props.id} novalidate>
      <h1 id={props.id}>{props.title}</h1>
      <Show when={props.intro}>
        <p class="muted">{props.intro}</p>
      </Show>
      <Show when={props.notice}>
        <p class="notice" role="status">
          {props.notice}
        </p>
      </Show>
      <FormError message={props.error} />
      {props.children}
      <button type="submit" class="btn btn-primary" disabled={props.busy}>
        {props.busy ? props.busyLabel : props.submitLabel}
      </button>
      {props.footer}
    </form>
  </div>
)
