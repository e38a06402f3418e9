/**
 * A service's stored build-context uploads (SPEC §10). The upload itself is the raw route
 * `POST /v1/services/{id}/uploads` beside the HttpApi (api/server/uploadRoute.ts); this group lists what
 * is stored and not yet expired, so a client can deploy one again by id
 * (`POST /v1/services/{id}/deployments` with `{uploadId}`).
 */
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const StoredUpload = Schema.Struct({
  id: Schema.String,
  /** Compressed size as stored. */
  bytes: Schema.Number,
  format: Schema.Literal("gzip", "zstd", "tar"),
  entries: Schema.Number,
  unpackedBytes: Schema.Number,
  createdAt: Schema.String,
  expiresAt: Schema.String
}).annotations({ identifier: "StoredUpload" })
export type StoredUpload = typeof StoredUpload.Type

export const StoredUploadList = Schema.Struct({ items: Schema.Array(StoredUpload) })

export class UploadsGroup extends HttpApiGroup.make("uploads")
  .add(
    HttpApiEndpoint.get("list", "/services/:id/uploads")
      .setPath(IdPath)
      .addSuccess(StoredUploadList)
      .annotate(Access, rules.project("viewer", "servicePath"))
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
