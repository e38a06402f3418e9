/** Light/dark theme: saved in localStorage, applied as `data-theme` on <html>. */
import { createSignal } from "solid-js"

export type Theme = "light" | "dark"
const KEY = "denia.theme"

const initial = (): Theme => {
  const fromDom = typeof document === "undefined" ? undefined : document.documentElement.dataset["theme"]
  if (fromDom === "light" || fromDom === "dark") return fromDom
  try {
    const saved = localStorage.getItem(KEY)
    if (saved === "light" || saved === "dark") return saved
  } catch {
    // storage unavailable: fall through to the system preference
  }
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"
}

const [theme, setThemeSignal] = createSignal<Theme>(initial())

export { theme }

export const setTheme = (t: Theme): void => {
  setThemeSignal(t)
  document.documentElement.dataset["theme"] = t
  try {
    localStorage.setItem(KEY, t)
  } catch {
    // not persisted; the choice still applies to this page
  }
}

export const toggleTheme = (): void => setTheme(theme() === "dark" ? "light" : "dark")
