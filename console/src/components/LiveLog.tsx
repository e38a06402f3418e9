/**
 * A live log from an event stream (`event: log` lines, an optional
 * `event: end` carrying the final status). Follows while mounted; the view
 * keeps the last `max` lines and sticks to the bottom unless scrolled up.
 * `onEnd` runs once when the stream ends (the `end` event, or the server
 * closing it), so callers can refetch what the ended work changed.
 */
import { createEffect, createSignal, For, onCleanup, Show } from "solid-js"
import type { ApiFailure } from "../api/failure.js"
import { endSummary, followEvents } from "../api/sse.js"

export const LiveLog = (props: {
  readonly path: string
  readonly label: string
  readonly initial?: ReadonlyArray<string>
  readonly max?: number
  readonly onEnd?: () => void
  /** Per-line CSS classes (e.g. the failing build step), same length as the lines. */
  readonly classify?: (lines: ReadonlyArray<string>) => ReadonlyArray<string | undefined>
  /** A state line shown above the log, from the lines (e.g. `building: queued (1 ahead)`). */
  readonly banner?: (lines: ReadonlyArray<string>) => string | undefined
}) => {
  const [lines, setLines] = createSignal<ReadonlyArray<string>>([])
  const [state, setState] = createSignal<"connecting" | "live" | "ended" | "failed">("connecting")
  const [final, setFinal] = createSignal<string>()
  const [error, setError] = createSignal<ApiFailure>()
  let box: HTMLPreElement | undefined

  createEffect(() => {
    const path = props.path
    const max = props.max ?? 2000
    setLines(props.initial ?? [])
    setState("connecting")
    setFinal(undefined)
    setError(undefined)
    const abort = new AbortController()
    onCleanup(() => abort.abort())
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      props.onEnd?.()
    }
    followEvents(
      path,
      (e) => {
        setState("live")
        if (e.event === "end") {
          setFinal(endSummary(e.data))
          setState("ended")
          end()
        } else if (e.event === "log" || e.event === "message") {
          setLines((prev) => {
            const next = [...prev, ...e.data.split("\n")]
            return next.length > max ? next.slice(next.length - max) : next
          })
          const el = box
          if (el !== undefined && el.scrollHeight - el.scrollTop - el.clientHeight < 40) {
            queueMicrotask(() => (el.scrollTop = el.scrollHeight))
          }
        }
      },
      abort.signal
    ).then(
      () => {
        if (abort.signal.aborted) return
        if (state() !== "ended") setState("ended")
        end()
      },
      (e: ApiFailure) => {
        if (abort.signal.aborted) return
        setError(e)
        setState("failed")
      }
    )
  })

  return (
    <div class="live-log">
      <div class="live-log-head">
        <span class={`status status-${state() === "live" ? "starting" : state() === "failed" ? "failed" : "stopped"}`} role="status">
          {state() === "connecting"
            ? "connecting…"
            : state() === "live"
            ? "live"
            : state() === "ended"
            ? `ended${final() ? `: ${final()}` : ""}`
            : "disconnected"}
        </span>
      </div>
      <Show when={error()}>{(e) => <p class="field-error" role="alert">{e().message}</p>}</Show>
      <Show when={props.banner?.(lines())}>{(b) => <p class="status status-starting live-log-banner" role="status">{b()}</p>}</Show>
      <pre ref={box} class="log mono" role="log" aria-label={props.label} aria-live="polite" tabindex="0">
        {lines().length === 0
          ? "(no output yet)"
          : props.classify === undefined
          ? lines().join("\n")
          : (
            <For each={lines()}>
              {(line, i) => {
                const cls = props.classify?.(lines())[i()]
                return cls === undefined ? `${line}\n` : <span class={cls}>{`${line}\n`}</span>
              }}
            </For>
          )}
      </pre>
    </div>
  )
}
