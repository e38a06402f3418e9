/**
 * Row shapes of the hosted-registry metadata (what RegistryRepo returns) and the SQL row schemas it
 * decodes them from.
 */
import { Schema } from "effect"

export interface ManifestRow {
  readonly repositoryId: string
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  readonly subjectDigest: string | null
  readonly artifactType: string | null
  readonly createdAt: string
}

export interface UploadRow {
  readonly id: string
  readonly repositoryId: string
  readonly size: number
  readonly startedAt: string
  readonly updatedAt: string
}

export interface BlobRow {
  readonly digest: string
  readonly size: number
  readonly createdAt: string
}

export interface GcRunRow {
  readonly id: string
  readonly trigger: "manual" | "periodic"
  readonly startedAt: string
  readonly finishedAt: string | null
  readonly blobsDeleted: number
  readonly bytesFreed: number
  readonly uploadsExpired: number
  readonly error: string | null
}

export interface RepositorySummary {
  readonly name: string
  readonly projectId: string
  readonly serviceId: string
  readonly tags: number
  readonly manifests: number
  readonly updatedAt: string
}

export interface NewManifest {
  readonly repositoryId: string
  readonly digest: string
  readonly mediaType: string
  readonly size: number
  readonly subjectDigest: string | undefined
  readonly artifactType: string | undefined
  readonly refs: ReadonlyArray<{ readonly digest: string; readonly kind: "blob" | "manifest" }>
  readonly tag: string | undefined
}

export const ManifestSql = Schema.Struct({
  repository_id: Schema.String,
  digest: Schema.String,
  media_type: Schema.String,
  size: Schema.Number,
  subject_digest: Schema.NullOr(Schema.String),
  artifact_type: Schema.NullOr(Schema.String),
  created_at: Schema.String
})
export type ManifestSql = typeof ManifestSql.Type

export const toManifest = (r: ManifestSql): ManifestRow => ({
  repositoryId: r.repository_id,
  digest: r.digest,
  mediaType: r.media_type,
  size: r.size,
  subjectDigest: r.subject_digest,
  artifactType: r.artifact_type,
  createdAt: r.created_at
})

export const UploadSql = Schema.Struct({
  id: Schema.String,
  repository_id: Schema.String,
  size: Schema.Number,
  started_at: Schema.String,
  updated_at: Schema.String
})
export type UploadSql = typeof UploadSql.Type

export const toUpload = (r: UploadSql): UploadRow => ({
  id: r.id,
  repositoryId: r.repository_id,
  size: r.size,
  startedAt: r.started_at,
  updatedAt: r.updated_at
})

export const GcSql = Schema.Struct({
  id: Schema.String,
  trigger: Schema.Literal("manual", "periodic"),
  started_at: Schema.String,
  finished_at: Schema.NullOr(Schema.String),
  blobs_deleted: Schema.Number,
  bytes_freed: Schema.Number,
  uploads_expired: Schema.Number,
  error: Schema.NullOr(Schema.String)
})
export type GcSql = typeof GcSql.Type

export const BlobSql = Schema.Struct({ digest: Schema.String, size: Schema.Number, created_at: Schema.String })
export const toBlob = (r: typeof BlobSql.Type): BlobRow => ({ digest: r.digest, size: r.size, createdAt: r.created_at })

export const SizeRow = Schema.Struct({ size: Schema.Number })
export const DigestRow = Schema.Struct({ digest: Schema.String })
export const TagRow = Schema.Struct({ tag: Schema.String })
export const UsageRow = Schema.Struct({
  repo: Schema.Number,
  project: Schema.Number,
  repo_open: Schema.Number,
  project_open: Schema.Number
})
export const LinkedRow = Schema.Struct({ repo: Schema.Number, project: Schema.Number })
export const CatalogRow = Schema.Struct({ name: Schema.String, project_id: Schema.String })
export const RepositorySql = Schema.Struct({
  name: Schema.String,
  project_id: Schema.String,
  service_id: Schema.String,
  tags: Schema.Number,
  manifests: Schema.Number,
  updated_at: Schema.String
})
export const CountsRow = Schema.Struct({
  repositories: Schema.Number,
  manifests: Schema.Number,
  tags: Schema.Number,
  blobs: Schema.Number,
  bytes: Schema.NullOr(Schema.Number),
  uploads: Schema.Number
})

export const toGcRun = (r: GcSql): GcRunRow => ({
  id: r.id,
  trigger: r.trigger,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  blobsDeleted: r.blobs_deleted,
  bytesFreed: r.bytes_freed,
  uploadsExpired: r.uploads_expired,
  error: r.error
})
