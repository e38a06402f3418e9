/**
 * Failures of the builder subsystem (`BuildFailed` lives with the port in `Builder.ts`).
 */
import { Schema } from "effect"

/** A build that did not produce an image; `message` is the deployment error (names the failing step). */
export class BuildFailed extends Schema.TaggedError<BuildFailed>("denia/builder/BuildFailed")("denia/builder/BuildFailed", {
  /** What failed, for the deployment error (e.g. `step 3/5 RUN npm ci failed (exit 1)`). */
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * An upload refused by one of the archive rules. `rule` names the rule (`absolute-path`, `parent-path`,
 * `link-escape`, `hardlink`, `device`, `too-many-entries`, `too-large-unpacked`, `too-large`, `format`, …),
 * `entry` the archive entry that broke it (empty when it is about the whole body). `status` is 400, or 413
 * for the size and count caps.
 */
export class UploadRejected extends Schema.TaggedError<UploadRejected>("denia/builder/UploadRejected")(
  "denia/builder/UploadRejected",
  {
    rule: Schema.String,
    entry: Schema.String,
    message: Schema.String,
    status: Schema.Literal(400, 413)
  }
) {}

/** No such upload for this service (unknown, expired, or another service's). */
export class UploadNotFound extends Schema.TaggedError<UploadNotFound>("denia/builder/UploadNotFound")(
  "denia/builder/UploadNotFound",
  { uploadId: Schema.String }
) {
  override get message() {
    return `uploadId: upload ${this.uploadId} does not exist or has expired`
  }
}

/** Writing or reading the upload store failed (disk); the API answers an opaque 500. */
export class UploadStorageError extends Schema.TaggedError<UploadStorageError>("denia/builder/UploadStorageError")(
  "denia/builder/UploadStorageError",
  { message: Schema.String, cause: Schema.optional(Schema.Defect) }
) {}
