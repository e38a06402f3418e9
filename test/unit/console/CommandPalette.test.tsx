/** Command palette: Ctrl/Cmd-K, filtering, keyboard selection, focus handling, roles. */
import { cleanup, fireEvent, render, screen } from "@solidjs/testing-library"
import { afterEach, describe, expect, it } from "vitest"
import { type Command, CommandPalette, matches } from "../../../console/src/components/CommandPalette.js"

afterEach(cleanup)

const setup = () => {
  const ran: Array<string> = []
  const commands: ReadonlyArray<Command> = ["Projects", "Services", "New service", "Log out"].map((label) => ({
    id: label,
    label,
    group: "Go to",
    run: () => ran.push(label)
  }))
  render(() => (
    <>
      <button type="button">before</button>
      <CommandPalette commands={() => commands} />
    </>
  ))
  return ran
}

describe("CommandPalette", () => {
  it("opens with Ctrl-K or Cmd-K as a labelled modal dialog with focus in the filter box", async () => {
    setup()
    expect(screen.queryByRole("dialog")).toBeNull()
    fireEvent.keyDown(document, { key: "k", ctrlKey: true })
    const dialog = screen.getByRole("dialog", { name: "Command palette" })
    expect(dialog.getAttribute("aria-modal")).toBe("true")
    await Promise.resolve()
    expect(document.activeElement).toBe(screen.getByRole("combobox"))
    fireEvent.keyDown(dialog, { key: "Escape" })
    expect(screen.queryByRole("dialog")).toBeNull()
    fireEvent.keyDown(document, { key: "K", metaKey: true })
    expect(screen.getByRole("dialog")).toBeTruthy()
  })

  it("filters as you type and runs the highlighted command with Enter", () => {
    const ran = setup()
    fireEvent.keyDown(document, { key: "k", ctrlKey: true })
    const input = screen.getByRole("combobox")
    fireEvent.input(input, { target: { value: "serv" } })
    expect(screen.getAllByRole("option").map((o) => o.textContent)).toEqual(["Go toServices", "Go toNew service"])
    fireEvent.keyDown(input, { key: "ArrowDown" })
    expect(screen.getAllByRole("option")[1]?.getAttribute("aria-selected")).toBe("true")
    expect(input.getAttribute("aria-activedescendant")).toBe("palette-1")
    fireEvent.keyDown(input, { key: "Enter" })
    expect(ran).toEqual(["New service"])
    expect(screen.queryByRole("dialog")).toBeNull()
  })

  it("says so when nothing matches, and runs a command on click", () => {
    const ran = setup()
    fireEvent.keyDown(document, { key: "k", ctrlKey: true })
    fireEvent.input(screen.getByRole("combobox"), { target: { value: "zzz" } })
    expect(screen.getByText("No matching commands")).toBeTruthy()
    fireEvent.input(screen.getByRole("combobox"), { target: { value: "log" } })
    fireEvent.click(screen.getByRole("option", { name: /Log out/ }))
    expect(ran).toEqual(["Log out"])
  })

  it("matches substrings and in-order letters, case-insensitively", () => {
    expect(matches("", "anything")).toBe(true)
    expect(matches("NEW", "New service")).toBe(true)
    expect(matches("nwsv", "New service")).toBe(true)
    expect(matches("vsn", "New service")).toBe(false)
  })
})
