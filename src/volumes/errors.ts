import { Schema } from "effect"

/** The volume is mounted by a replica (or busy with a backup or restore) and cannot be changed now (→ 409). */
export class VolumeInUse extends Schema.TaggedError<VolumeInUse>()("denia/volumes/VolumeInUse", {
  message: Schema.String
}) {}

/** A restore archive breaks a safety rule; `rule` says which and `entry` names the tar entry (→ 400). */
export class HostileArchive extends Schema.TaggedError<HostileArchive>()("denia/volumes/HostileArchive", {
  rule: Schema.String,
  entry: Schema.String
}) {
  override get message(): string {
    return `archive: ${this.rule}${this.entry === "" ? "" : ` (entry ${JSON.stringify(this.entry)})`}`
  }
}

/** A restore archive is past a size or entry cap (→ 413). */
export class ArchiveTooLarge extends Schema.TaggedError<ArchiveTooLarge>()("denia/volumes/ArchiveTooLarge", {
  limit: Schema.String,
  entry: Schema.String
}) {
  override get message(): string {
    return `archive: ${this.limit}${this.entry === "" ? "" : ` (at entry ${JSON.stringify(this.entry)})`}`
  }
}

/** A volume directory could not be prepared, read or written (→ opaque 500; the cause is logged). */
export class VolumeIoError extends Schema.TaggedError<VolumeIoError>()("denia/volumes/VolumeIoError", {
  operation: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {
  override get message(): string {
    return `volume ${this.operation} failed`
  }
}

export type VolumeError = VolumeInUse | HostileArchive | ArchiveTooLarge | VolumeIoError
