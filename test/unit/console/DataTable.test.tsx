/** The shared table: caption, visible and screen-reader-only headers, one row per item, in a scroll box. */
import { cleanup, render, screen } from "@solidjs/testing-library"
import { afterEach, describe, expect, it } from "vitest"
import { DataTable } from "../../../console/src/components/DataTable.js"

afterEach(cleanup)

describe("DataTable", () => {
  it("renders headers (skipping false ones) and rows inside a horizontal scroll box", () => {
    render(() => (
      <DataTable
        caption="Things"
        columns={["Name", false, { label: "Actions", hidden: true }]}
        items={["a", "b"]}
        row={(x) => (
          <tr>
            <td>{x}</td>
            <td>
              <button type="button">Remove {x}</button>
            </td>
          </tr>
        )}
      />
    ))
    const table = screen.getByRole("table", { name: "Things" })
    expect(table.parentElement?.classList.contains("table-scroll")).toBe(true)
    const headers = screen.getAllByRole("columnheader")
    expect(headers.map((h) => h.textContent)).toEqual(["Name", "Actions"])
    expect(headers[1]?.querySelector(".sr-only")?.textContent).toBe("Actions")
    expect(screen.getAllByRole("row")).toHaveLength(3)
  })
})
