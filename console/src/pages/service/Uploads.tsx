/**
 * An upload-source service's stored uploads (what `denia push` sent, kept
 * until they expire): size, entries, when they expire; operators build and
 * deploy one again with its Deploy button (`POST …/deployments {uploadId}`).
 */
import { type Component, createSignal, Show } from "solid-js"
import { useDeployUpload, useUploads } from "../../api/queries.js"
import { DataTable } from "../../components/DataTable.js"
import { FormError, QueryList, StatusNote } from "../../components/States.js"
import { formatBytes, formatTime } from "../../lib/format.js"
import type { SectionProps } from "./section.js"

export const Uploads: Component<SectionProps> = (props) => {
  const uploads = useUploads(() => props.service.id)
  const deploy = useDeployUpload(() => props.service.id)
  const [note, setNote] = createSignal<string>()
  return (
    <>
      <p class="muted">
        Build contexts sent with <code>denia push</code>, kept until they expire. Deploying one builds it again and deploys the result.
      </p>
      <QueryList
        query={uploads}
        loadingLabel="Loading uploads…"
        errorTitle="Could not load uploads"
        empty={<p class="muted">No stored uploads. Send one with denia push.</p>}
      >
        {(list) => (
          <DataTable
            caption="Stored uploads"
            columns={["Upload", "Size", "Files", "Uploaded", "Expires", { label: "Actions", hidden: true }]}
            items={list()}
            row={(u) => (
              <tr data-upload={u.id}>
                <td class="mono">{u.id}</td>
                <td>
                  {formatBytes(u.bytes)} <span class="muted">({formatBytes(u.unpackedBytes)} unpacked)</span>
                </td>
                <td>{u.entries}</td>
                <td>{formatTime(u.createdAt)}</td>
                <td>{formatTime(u.expiresAt)}</td>
                <td>
                  <Show when={props.canOperate}>
                    <button
                      type="button"
                      class="btn"
                      disabled={deploy.isPending}
                      aria-label={`Deploy upload ${u.id}`}
                      onClick={() => {
                        setNote(undefined)
                        deploy.mutate(u.id, {
                          onSuccess: (d) => {
                            setNote(d === null ? `Upload ${u.id} queued.` : `Deployment ${d.id} queued: it builds upload ${u.id}.`)
                            props.setOpenLog(d?.id)
                          }
                        })
                      }}
                    >
                      {deploy.isPending && deploy.variables === u.id ? "Deploying…" : "Deploy"}
                    </button>
                  </Show>
                </td>
              </tr>
            )}
          />
        )}
      </QueryList>
      <FormError message={deploy.error?.message} />
      <StatusNote message={note()} />
    </>
  )
}
