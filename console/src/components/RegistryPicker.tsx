/**
 * Which project registry (pull credentials) an image source uses, picked
 * from the project's registries. Listing them needs the project's admin role;
 * anyone else (403) or a failed list gets a plain id input instead.
 */
import { Match, Switch } from "solid-js"
import { useRegistries } from "../api/queries.js"
import { SelectField, TextField } from "./Field.js"

export const RegistryPicker = (props: {
  readonly projectId: string
  readonly value: string
  readonly onValue: (id: string) => void
  readonly error?: string | undefined
}) => {
  const registries = useRegistries(
    () => props.projectId,
    () => props.projectId !== ""
  )
  const options = () => {
    const list = registries.data ?? []
    const known = list.map((r) => ({ value: r.id, label: `${r.name} (${r.endpoint})` }))
    // An id set before (e.g. of a registry since removed) stays visible rather than silently changing.
    const stale = props.value !== "" && !list.some((r) => r.id === props.value)
      ? [{ value: props.value, label: `${props.value} (not in this project)` }]
      : []
    return [{ value: "", label: "None (anonymous pull)" }, ...known, ...stale]
  }
  return (
    <Switch
      fallback={
        <TextField
          label="Registry id (optional)"
          name="registryId"
          value={props.value}
          onValue={props.onValue}
          error={props.error}
          hint={registries.error?.status === 403
            ? "Only project admins can list registries; paste the id a project admin gives you, or leave empty for anonymous pulls"
            : "Id of a project registry with pull credentials (listed on the project page); empty for anonymous pulls"}
          spellcheck={false}
        />
      }
    >
      <Match when={registries.data}>
        <SelectField
          label="Registry"
          name="registryId"
          value={props.value}
          onValue={props.onValue}
          options={options()}
          error={props.error}
          hint="Pull credentials from the project's registries (added on the project page)"
        />
      </Match>
    </Switch>
  )
}
