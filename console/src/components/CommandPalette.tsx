/**
 * Ctrl/Cmd-K command palette: a modal dialog with a filter box and a listbox
 * of commands (navigation, actions, and every project and service the cache
 * knows). Arrow keys move, Enter runs, Escape closes and returns focus.
 */
import { createMemo, createSignal, For, onCleanup, onMount, Show } from "solid-js"

export interface Command {
  readonly id: string
  readonly label: string
  readonly group: string
  readonly run: () => void
}

/** Case-insensitive subsequence match, so "nwsv" finds "New service". */
export const matches = (query: string, label: string): boolean => {
  const q = query.trim().toLowerCase()
  if (q === "") return true
  const l = label.toLowerCase()
  if (l.includes(q)) return true
  let i = 0
  for (const ch of l) if (ch === q[i]) i++
  return i === q.length
}

export const CommandPalette = (props: { readonly commands: () => ReadonlyArray<Command> }) => {
  const [open, setOpen] = createSignal(false)
  const [query, setQuery] = createSignal("")
  const [active, setActive] = createSignal(0)
  let input: HTMLInputElement | undefined
  let returnFocus: HTMLElement | null = null

  const filtered = createMemo(() => props.commands().filter((c) => matches(query(), `${c.group} ${c.label}`)))

  const show = () => {
    returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null
    setQuery("")
    setActive(0)
    setOpen(true)
    queueMicrotask(() => input?.focus())
  }
  const hide = () => {
    setOpen(false)
    returnFocus?.focus()
  }
  const runAt = (i: number) => {
    const c = filtered()[i]
    if (c === undefined) return
    setOpen(false)
    c.run()
  }

  const onGlobalKey = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
      e.preventDefault()
      if (open()) hide()
      else show()
    }
  }
  onMount(() => {
    document.addEventListener("keydown", onGlobalKey)
    document.addEventListener("denia:open-palette", show)
  })
  onCleanup(() => {
    document.removeEventListener("keydown", onGlobalKey)
    document.removeEventListener("denia:open-palette", show)
  })

  const onKey = (e: KeyboardEvent) => {
    const n = filtered().length
    if (e.key === "Escape") {
      e.preventDefault()
      hide()
    } else if (e.key === "ArrowDown") {
      e.preventDefault()
      setActive((a) => (n === 0 ? 0 : (a + 1) % n))
    } else if (e.key === "ArrowUp") {
      e.preventDefault()
      setActive((a) => (n === 0 ? 0 : (a - 1 + n) % n))
    } else if (e.key === "Enter") {
      e.preventDefault()
      runAt(active())
    }
  }

  return (
    <Show when={open()}>
      <div class="palette-backdrop" onClick={hide}>
        <div
          class="palette"
          role="dialog"
          aria-modal="true"
          aria-label="Command palette"
          onClick={(e) => e.stopPropagation()}
          onKeyDown={onKey}
        >
          <input
            ref={input}
            class="palette-input"
            type="text"
            role="combobox"
            aria-expanded="true"
            aria-controls="palette-list"
            aria-activedescendant={filtered()[active()] === undefined ? undefined : `palette-${active()}`}
            aria-label="Type a command or a name"
            placeholder="Type a command or a name…"
            value={query()}
            onInput={(e) => {
              setQuery(e.currentTarget.value)
              setActive(0)
            }}
          />
          <ul id="palette-list" role="listbox" class="palette-list" aria-label="Commands">
            <For each={filtered()} fallback={<li class="palette-empty">No matching commands</li>}>
              {(c, i) => (
                <li
                  id={`palette-${i()}`}
                  role="option"
                  aria-selected={i() === active()}
                  classList={{ active: i() === active() }}
                  onMouseEnter={() => setActive(i())}
                  onClick={() => runAt(i())}
                >
                  <span class="palette-group">{c.group}</span>
                  <span>{c.label}</span>
                </li>
              )}
            </For>
          </ul>
        </div>
      </div>
    </Show>
  )
}

export const openPalette = (): void => {
  document.dispatchEvent(new Event("denia:open-palette"))
}
