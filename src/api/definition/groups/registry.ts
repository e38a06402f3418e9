import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const RegistryGcRun = Schema.Struct({
  id: Schema.String,
  trigger: Schema.Literal("manual", "periodic"),
  status: Schema.Literal("running", "done", "failed"),
  startedAt: Schema.String,
  finishedAt: Schema.optional(Schema.String),
  blobsDeleted: Schema.Number,
  bytesFreed: Schema.Number,
  uploadsExpired: Schema.Number,
  error: Schema.optional(Schema.String)
})

export const RegistryStatus = Schema.Struct({
  repositories: Schema.Number,
  manifests: Schema.Number,
  tags: Schema.Number,
  blobs: Schema.Number,
  blobBytes: Schema.Number,
  openUploads: Schema.Number,
  gcIntervalHours: Schema.Number,
  gcGraceMinutes: Schema.Number,
  lastGc: Schema.NullOr(RegistryGcRun)
})

export const RegistryRepository = Schema.Struct({
  name: Schema.String,
  projectId: Schema.String,
  serviceId: Schema.String,
  tags: Schema.Number,
  manifests: Schema.Number,
  updatedAt: Schema.String
})

export const RegistryRepositoryList = Schema.Struct({ items: Schema.Array(RegistryRepository) })

/** Hosted registry management (the /v2 protocol itself is served outside the HttpApi). */
export class RegistryGroup extends HttpApiGroup.make("registry")
  .add(HttpApiEndpoint.get("status", "/registry/status").addSuccess(RegistryStatus).annotate(Access, rules.superAdmin))
  .add(
    HttpApiEndpoint.get("repositories", "/registry/repositories").addSuccess(RegistryRepositoryList).annotate(
      Access,
      rules.project("viewer", "handler")
    )
  )
  .add(HttpApiEndpoint.post("gc", "/registry/gc").addSuccess(RegistryGcRun, { status: 202 }).annotate(Access, rules.superAdmin))
  .add(HttpApiEndpoint.get("gcRun", "/registry/gc/:id").setPath(IdPath).addSuccess(RegistryGcRun).annotate(Access, rules.superAdmin))
  .middleware(Authorization)
  .prefix("/v1")
{}
