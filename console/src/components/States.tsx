/** Loading, error and empty states shared by every page. */
import { type Accessor, type JSX, Match, Show, Switch } from "solid-js"
import type { ApiFailure } from "../api/failure.js"

export const Loading = (props: { readonly label?: string | undefined }) => (
  <div class="state state-loading" role="status" aria-live="polite">
    <span class="spinner" aria-hidden="true" />
    <span>{props.label ?? "Loading…"}</span>
  </div>
)

const explain = (e: ApiFailure): string => {
  switch (e.status) {
    case 401:
      return "Your session has ended. Sign in again."
    case 403:
      return `You don't have access to this. ${e.message}`
    case 404:
      return `Not found. ${e.message}`
    case 429:
      return `Too many requests; wait a moment and try again. ${e.message}`
    default:
      return e.message
  }
}

export const ErrorState = (props: {
  readonly error: ApiFailure | null | undefined
  readonly retry?: () => void
  readonly title?: string | undefined
}) => (
  <Show when={props.error}>
    {(e) => (
      <div class="state state-error" role="alert">
        <strong>{props.title ?? "Something went wrong"}</strong>
        <p>{explain(e())}</p>
        <Show when={props.retry}>
          {(retry) => (
            <button type="button" class="btn" onClick={() => retry()()}>
              Try again
            </button>
          )}
        </Show>
      </div>
    )}
  </Show>
)

export const Empty = (props: { readonly title: string; readonly children?: JSX.Element }) => (
  <div class="state state-empty">
    <strong>{props.title}</strong>
    {props.children}
  </div>
)

/** A one-line form-level error (anything that does not belong to one input). */
export const FormError = (props: { readonly message: string | undefined; readonly id?: string }) => (
  <Show when={props.message}>
    {(m) => (
      <p class="form-error" role="alert" id={props.id}>
        {m()}
      </p>
    )}
  </Show>
)

/** A one-line confirmation of what just happened (a polite live region). */
export const StatusNote = (props: { readonly message: string | undefined }) => (
  <Show when={props.message}>
    {(m) => (
      <p role="status" class="muted">
        {m()}
      </p>
    )}
  </Show>
)

/** The parts of a list query the states below read (solid-query's result fits). */
export interface ListQuery<T> {
  readonly isPending: boolean
  readonly isError: boolean
  readonly error: ApiFailure | null
  readonly data: ReadonlyArray<T> | undefined
  readonly refetch: () => unknown
}

/** A list query's loading, error and empty states, then `children` with the items. */
export function QueryList<T>(props: {
  readonly query: ListQuery<T>
  readonly loadingLabel?: string
  readonly errorTitle?: string
  readonly empty: JSX.Element
  readonly children: (items: Accessor<ReadonlyArray<T>>) => JSX.Element
}) {
  return (
    <Switch>
      <Match when={props.query.isPending}>
        <Loading label={props.loadingLabel} />
      </Match>
      <Match when={props.query.isError}>
        <ErrorState error={props.query.error} retry={() => void props.query.refetch()} title={props.errorTitle} />
      </Match>
      <Match when={props.query.data?.length === 0}>{props.empty}</Match>
      <Match when={props.query.data}>{(items) => props.children(items)}</Match>
    </Switch>
  )
}
