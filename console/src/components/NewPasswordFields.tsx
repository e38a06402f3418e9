/**
 * A new password and its confirmation (first-run setup, password change): the
 * same input rules and the same local mismatch check, so both forms refuse a
 * typo before anything is sent.
 */
import type { Accessor, Setter } from "solid-js"
import { ApiFailure } from "../api/failure.js"
import { TextField } from "./Field.js"

export interface NewPasswordFieldsProps {
  readonly label: string
  readonly confirmLabel: string
  /** Input names (the forms' tests and password managers read them). */
  readonly name: string
  readonly confirmName: string
  readonly password: Accessor<string>
  readonly setPassword: Setter<string>
  readonly confirm: Accessor<string>
  readonly setConfirm: Setter<string>
  readonly error: string | undefined
  readonly confirmError: string | undefined
}

export function NewPasswordFields(props: NewPasswordFieldsProps) {
  return (
    <>
      <TextField
        label={props.label}
        name={props.name}
        type="password"
        autocomplete="new-password"
        required
        value={props.password()}
        onValue={props.setPassword}
        error={props.error}
        hint="At least 12 characters"
      />
      <TextField
        label={props.confirmLabel}
        name={props.confirmName}
        type="password"
        autocomplete="new-password"
        required
        value={props.confirm()}
        onValue={props.setConfirm}
        error={props.confirmError}
      />
    </>
  )
}

/** The failure to show when the confirmation differs, as a field error on `confirm`; undefined when they match. */
export const confirmationMismatch = (password: string, confirm: string): ApiFailure | undefined =>
  password === confirm
    ? undefined
    : new ApiFailure(0, "INVALID_INPUT", "confirm: passwords differ", [{ field: "confirm", message: "The passwords do not match." }])
