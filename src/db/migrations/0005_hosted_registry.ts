import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Hosted OCI registry metadata. A repository is one service (`<project>/<service>`),
 * so its rows go away with the service; the blob files are reclaimed by GC.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE registry_repositories (
    service_id TEXT PRIMARY KEY REFERENCES services(id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`
  yield* sql`CREATE TABLE registry_blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
  )`
  yield* sql`CREATE TABLE registry_blob_links (
    repository_id TEXT NOT NULL REFERENCES registry_repositories(service_id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repository_id, digest)
  )`
  yield* sql`CREATE INDEX registry_blob_links_by_digest ON registry_blob_links (digest)`
  yield* sql`CREATE TABLE registry_manifests (
    repository_id TEXT NOT NULL REFERENCES registry_repositories(service_id) ON DELETE CASCADE,
    digest TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    subject_digest TEXT,
    artifact_type TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repository_id, digest)
  )`
  yield* sql`CREATE INDEX registry_manifests_by_subject ON registry_manifests (repository_id, subject_digest)`
  yield* sql`CREATE TABLE registry_manifest_refs (
    repository_id TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    ref_digest TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (repository_id, manifest_digest, ref_digest),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES registry_manifests(repository_id, digest) ON DELETE CASCADE
  )`
  yield* sql`CREATE INDEX registry_manifest_refs_by_ref ON registry_manifest_refs (ref_digest)`
  yield* sql`CREATE TABLE registry_tags (
    repository_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repository_id, tag),
    FOREIGN KEY (repository_id, manifest_digest) REFERENCES registry_manifests(repository_id, digest) ON DELETE CASCADE
  )`
  yield* sql`CREATE TABLE registry_uploads (
    id TEXT PRIMARY KEY,
    repository_id TEXT NOT NULL REFERENCES registry_repositories(service_id) ON DELETE CASCADE,
    size INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`
  yield* sql`CREATE INDEX registry_uploads_by_repository ON registry_uploads (repository_id, updated_at)`
  yield* sql`CREATE TABLE registry_gc_runs (
    id TEXT PRIMARY KEY,
    trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'periodic')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    blobs_deleted INTEGER NOT NULL DEFAULT 0,
    bytes_freed INTEGER NOT NULL DEFAULT 0,
    uploads_expired INTEGER NOT NULL DEFAULT 0,
    error TEXT
  )`
})
