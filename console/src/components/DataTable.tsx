/**
 * The console's one table: a caption for screen readers, a header row and
 * one `<tr>` per item from `row`. It sits in a horizontally scrolling box, so
 * a wide table never widens the page (phones).
 */
import { For, type JSX, Show } from "solid-js"

/** A column header; `hidden` headers are read out but not shown (action columns). */
export type Column = string | { readonly label: string; readonly hidden: true }

export function DataTable<T>(props: {
  readonly caption: string
  readonly columns: ReadonlyArray<Column | false>
  readonly items: ReadonlyArray<T>
  readonly row: (item: T) => JSX.Element
  readonly class?: string
}) {
  return (
    <div class="table-scroll">
      <table class={props.class === undefined ? "table" : `table ${props.class}`}>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <For each={props.columns.filter((c): c is Column => c !== false)}>
              {(c) => (
                <th scope="col">
                  <Show when={typeof c === "string"} fallback={<span class="sr-only">{typeof c === "string" ? c : c.label}</span>}>
                    {typeof c === "string" ? c : c.label}
                  </Show>
                </th>
              )}
            </For>
          </tr>
        </thead>
        <tbody>
          <For each={props.items}>{(item) => props.row(item)}</For>
        </tbody>
      </table>
    </div>
  )
}
