/**
 * The service's volumes: mount path, size, whether a replica mounts it;
 * operators download a backup (a tar streamed to disk where the browser can
 * write files directly, else saved from memory — `denia volumes backup` for
 * large volumes) and delete a volume (refused by the daemon while mounted).
 */
import { type Component, createSignal, Show } from "solid-js"
import { currentBaseUrl, currentTokenValue } from "../../api/client.js"
import { useVolumeRemove, useVolumes } from "../../api/queries.js"
import { DataTable } from "../../components/DataTable.js"
import { FormError, QueryList, StatusNote } from "../../components/States.js"
import { formatBytes } from "../../lib/format.js"
import type { SectionProps } from "./section.js"

interface SaveHandle {
  createWritable: () => Promise<WritableStream<Uint8Array>>
}
type SavePicker = (options: { suggestedName: string }) => Promise<SaveHandle>

/** Downloads the archive with the session's token; streams to a file where the browser allows it. */
const download = async (serviceId: string, volume: string, fileName: string): Promise<string> => {
  const token = currentTokenValue()
  const res = await fetch(
    `${currentBaseUrl()}/v1/services/${encodeURIComponent(serviceId)}/volumes/${encodeURIComponent(volume)}/archive`,
    {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
    }
  )
  if (!res.ok || res.body === null) {
    const body: unknown = await res.json().catch(() => undefined)
    const message = typeof body === "object" && body !== null && "error" in body && typeof body.error === "object" && body.error !== null &&
        "message" in body.error && typeof body.error.message === "string"
      ? body.error.message
      : `HTTP ${res.status}`
    throw new Error(message)
  }
  const snapshot = res.headers.get("x-denia-snapshot") ?? "unknown"
  const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker
  if (picker !== undefined) {
    const handle = await picker({ suggestedName: fileName })
    await res.body.pipeTo(await handle.createWritable())
  } else {
    const url = URL.createObjectURL(await res.blob())
    const a = document.createElement("a")
    a.href = url
    a.download = fileName
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
  }
  return snapshot
}

export const Volumes: Component<SectionProps> = (props) => {
  const volumes = useVolumes(() => props.service.id)
  const remove = useVolumeRemove(() => props.service.id)
  const [note, setNote] = createSignal<string>()
  const [error, setError] = createSignal<string>()
  const [busy, setBusy] = createSignal<string>()
  const backup = (name: string) => {
    setNote(undefined)
    setError(undefined)
    setBusy(name)
    download(props.service.id, name, `${props.service.name}-${name}.tar`).then(
      (snapshot) =>
        setNote(
          snapshot === "live"
            ? `Backup of ${name} saved. The service was running: this is a live copy; stop the service for a consistent one.`
            : `Backup of ${name} saved (the service was stopped: a consistent copy).`
        ),
      (e: unknown) => setError(e instanceof Error ? e.message : String(e))
    ).finally(() => setBusy(undefined))
  }
  return (
    <>
      <p class="muted">
        Volumes keep their data across deploys, restarts and rollbacks. A service with volumes runs one replica and redeploys by stopping
        the old replica first.
      </p>
      <QueryList
        query={volumes}
        loadingLabel="Loading volumes…"
        errorTitle="Could not load volumes"
        empty={<p class="muted">No volumes.</p>}
      >
        {(list) => (
          <DataTable
            caption="Volumes"
            columns={["Name", "Mount path", "Size", "Mounted", { label: "Actions", hidden: true }]}
            items={list()}
            row={(v) => (
              <tr data-volume={v.name}>
                <td class="mono">{v.name}</td>
                <td class="mono">
                  {v.mountPath ?? "(no longer declared)"}
                  {v.readOnly ? " (read-only)" : ""}
                </td>
                <td>{v.created ? formatBytes(v.bytes) : "not created yet"}</td>
                <td>{v.mounted ? "yes" : "no"}</td>
                <td>
                  <Show when={props.canOperate && v.created}>
                    <button
                      type="button"
                      class="btn btn-ghost"
                      disabled={busy() !== undefined}
                      onClick={() => backup(v.name)}
                      aria-label={`Download a backup of volume ${v.name}`}
                    >
                      {busy() === v.name ? "Downloading…" : "Download backup"}
                    </button>
                    <button
                      type="button"
                      class="btn btn-ghost btn-danger"
                      disabled={remove.isPending || v.mounted}
                      title={v.mounted ? "Stop the service first" : undefined}
                      onClick={() => {
                        setNote(undefined)
                        if (!window.confirm(`Delete volume ${v.name} and all its data?`)) return
                        remove.mutate(v.name, { onSuccess: () => setNote(`Volume ${v.name} deleted.`) })
                      }}
                      aria-label={`Delete volume ${v.name}`}
                    >
                      Delete
                    </button>
                  </Show>
                </td>
              </tr>
            )}
          />
        )}
      </QueryList>
      <FormError message={remove.error?.message ?? error()} />
      <StatusNote message={note()} />
    </>
  )
}
