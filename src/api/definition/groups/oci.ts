import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Id } from "../../../domain/ids.js"
import { imageReferenceProblem } from "../../../domain/service.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const CacheStatus = Schema.Struct({
  entries: Schema.Number,
  totalBytes: Schema.Number,
  oldestEntryAgeSeconds: Schema.Number,
  lastGcAt: Schema.NullOr(Schema.String),
  lastGcDeletedBytes: Schema.Number
})
export const GcReport = Schema.Struct({
  startedAt: Schema.String,
  scanned: Schema.Number,
  deleted: Schema.Number,
  deletedBytes: Schema.Number,
  keptPinned: Schema.Number,
  keptReserved: Schema.Number,
  keptRecent: Schema.Number
})
export const PullRequest = Schema.Struct({
  // the service image's rules: OCI grammar, 1-512 characters, no control characters
  image: Schema.String.pipe(Schema.filter((s) => imageReferenceProblem(s) ?? true)),
  registryId: Schema.optional(Schema.NullOr(Id)),
  projectId: Schema.optional(Id)
}).annotations({ parseOptions: { onExcessProperty: "error" } })
export const PullStatus = Schema.Struct({
  id: Id,
  image: Schema.String,
  status: Schema.Literal("running", "done", "failed"),
  digest: Schema.optional(Schema.String),
  layersDone: Schema.Number,
  layersTotal: Schema.Number,
  bytes: Schema.Number,
  error: Schema.optional(Schema.String)
})

/** Node-wide image cache and manual pulls (super-admin). */
export class OciGroup extends HttpApiGroup.make("oci")
  .add(HttpApiEndpoint.get("cacheStatus", "/oci/cache").addSuccess(CacheStatus).annotate(Access, rules.superAdmin))
  .add(HttpApiEndpoint.post("cacheGc", "/oci/cache/gc").addSuccess(GcReport).annotate(Access, rules.superAdmin))
  .add(
    HttpApiEndpoint.post("pull", "/oci/pulls").setPayload(PullRequest).addSuccess(PullStatus, { status: 202 }).annotate(
      Access,
      rules.superAdmin
    )
  )
  .add(HttpApiEndpoint.get("pullStatus", "/oci/pulls/:id").setPath(IdPath).addSuccess(PullStatus).annotate(Access, rules.superAdmin))
  .middleware(Authorization)
  .prefix("/v1")
{}
