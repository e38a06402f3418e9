/**
 * `logs -f --tail N`: the exact last N lines come from `GET …/logs?tail=N`;
 * the live stream's backlog is a byte estimate that overlaps them. This finds
 * where the already-printed snapshot ends inside the stream's first lines so
 * that nothing is printed twice and nothing after it is lost. Pure.
 */

/**
 * The index in `batch` of the snapshot's last line, or -1. A position counts
 * when the lines up to it match the end of `snapshot`, either for the whole
 * snapshot or back to the batch's start (the backlog began inside the
 * snapshot; its first line may be cut, so it only needs to be a tail of the
 * snapshot line it stands for). The last such position wins: identical
 * repeated lines then never print twice.
 */
export const snapshotEnd = (snapshot: ReadonlyArray<string>, batch: ReadonlyArray<string>): number => {
  if (snapshot.length === 0) return -1
  let found = -1
  for (let p = 0; p < batch.length; p++) {
    let ok = true
    let k = 0
    for (; k < snapshot.length && p - k >= 0; k++) {
      const b = batch[p - k] ?? ""
      const s = snapshot[snapshot.length - 1 - k] ?? ""
      const cut = p - k === 0 && k < snapshot.length - 1
      if (!(b === s || (cut && b !== "" && s.endsWith(b)))) {
        ok = false
        break
      }
    }
    if (ok && (k === snapshot.length || p - k < 0)) found = p
  }
  return found
}

export interface LogSync {
  /** Lines to print for the next batch of stream lines. */
  readonly push: (lines: ReadonlyArray<string>) => ReadonlyArray<string>
}

/**
 * Skips the stream's copy of the snapshot. The stream's backlog arrives in
 * one write, so the snapshot's end is looked for in each batch as it comes
 * (held lines accumulate across batches until it is found). If it is not found
 * within the backlog's size (`backlogBytes`, the server's estimate) plus 1 MiB
 * (the log was rotated or truncated), everything held back is printed.
 */
export const makeLogSync = (snapshot: ReadonlyArray<string>, backlogBytes: number): LogSync => {
  let synced = snapshot.length === 0
  let held: Array<string> = []
  let heldBytes = 0
  return {
    push: (lines) => {
      if (synced) return lines
      held = [...held, ...lines]
      heldBytes += lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0)
      const end = snapshotEnd(snapshot, held)
      if (end >= 0) {
        synced = true
        return held.slice(end + 1)
      }
      if (heldBytes >= backlogBytes + 1024 * 1024) {
        synced = true
        const out = end >= 0 ? held.slice(end + 1) : held
        held = []
        return out
      }
      return []
    }
  }
}
