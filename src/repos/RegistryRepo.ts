/**
 * Hosted-registry metadata: repositories (one per service), blob records and
 * per-repository links, manifests with what they reference, tags, upload
 * sessions and GC runs. Blob bytes live on disk (src/registry/storage.ts).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import { uuidv7 } from "../domain/ids.js"
import {
  BlobSql,
  CatalogRow,
  CountsRow,
  DigestRow,
  GcSql,
  LinkedRow,
  ManifestSql,
  type NewManifest,
  RepositorySql,
  type RepositorySummary,
  SizeRow,
  TagRow,
  toBlob,
  toGcRun,
  toManifest,
  toUpload,
  UploadSql,
  UsageRow
} from "./registryRows.js"
import { all, CountRow, decodeFirst, first, nowIso, orDbError, single } from "./sqlHelpers.js"

export type { BlobRow, GcRunRow, ManifestRow, NewManifest, RepositorySummary, UploadRow } from "./registryRows.js"

export class RegistryRepo extends Effect.Service<RegistryRepo>()("denia/repos/RegistryRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const dbError = orDbError

    const ensureRepository = (serviceId: string, projectId: string) => {
      const now = nowIso()
      return sql`INSERT INTO registry_repositories (service_id, project_id, created_at, updated_at) VALUES (${serviceId}, ${projectId}, ${now}, ${now})
                 ON CONFLICT (service_id) DO UPDATE SET updated_at = excluded.updated_at`.pipe(dbError, Effect.asVoid)
    }

    // ---- blobs ----
    const findBlob = (digest: string) =>
      sql`SELECT * FROM registry_blobs WHERE digest = ${digest}`.pipe(first("registry_blobs", BlobSql), Effect.map(Option.map(toBlob)))

    /** The blob's size when it is linked to the repository. */
    const findLinkedBlob = (repositoryId: string, digest: string) =>
      sql`SELECT b.size FROM registry_blob_links l JOIN registry_blobs b ON b.digest = l.digest
          WHERE l.repository_id = ${repositoryId} AND l.digest = ${digest}`.pipe(
        first("registry_blobs", SizeRow),
        Effect.map(Option.map((r) => r.size))
      )

    /** Records a written blob; a re-write refreshes its age so GC grace restarts. */
    const recordBlob = (digest: string, size: number) =>
      sql`INSERT INTO registry_blobs (digest, size, created_at) VALUES (${digest}, ${size}, ${nowIso()})
          ON CONFLICT (digest) DO UPDATE SET created_at = excluded.created_at`.pipe(dbError, Effect.asVoid)

    const linkBlob = (repositoryId: string, digest: string) =>
      sql`INSERT INTO registry_blob_links (repository_id, digest, created_at) VALUES (${repositoryId}, ${digest}, ${nowIso()})
          ON CONFLICT DO NOTHING`.pipe(dbError, Effect.asVoid)

    const unlinkBlob = (repositoryId: string, digest: string) =>
      sql`DELETE FROM registry_blob_links WHERE repository_id = ${repositoryId} AND digest = ${digest} RETURNING digest`.pipe(
        dbError,
        Effect.map((rows) => rows.length > 0)
      )

    /** Quota accounting: bytes of distinct linked blobs and of open upload sessions, for a repository and its project. */
    const usage = (repositoryId: string, projectId: string) =>
      sql`SELECT
          (SELECT COALESCE(SUM(b.size), 0) FROM registry_blob_links l JOIN registry_blobs b ON b.digest = l.digest WHERE l.repository_id = ${repositoryId}) AS repo,
          (SELECT COALESCE(SUM(b.size), 0) FROM registry_blobs b WHERE b.digest IN (SELECT l.digest FROM registry_blob_links l
             JOIN registry_repositories r ON r.service_id = l.repository_id WHERE r.project_id = ${projectId})) AS project,
          (SELECT COALESCE(SUM(size), 0) FROM registry_uploads WHERE repository_id = ${repositoryId}) AS repo_open,
          (SELECT COALESCE(SUM(u.size), 0) FROM registry_uploads u JOIN registry_repositories r ON r.service_id = u.repository_id
             WHERE r.project_id = ${projectId}) AS project_open`.pipe(
        single("registry_blobs", UsageRow),
        Effect.map((r) => ({
          repository: { linked: r.repo, open: r.repo_open },
          project: { linked: r.project, open: r.project_open }
        }))
      )

    /** Whether a digest is already linked to the repository / to any repository of the project (then it costs no quota). */
    const linkedWhere = (digest: string, repositoryId: string, projectId: string) =>
      sql`SELECT
          EXISTS (SELECT 1 FROM registry_blob_links WHERE repository_id = ${repositoryId} AND digest = ${digest}) AS repo,
          EXISTS (SELECT 1 FROM registry_blob_links l JOIN registry_repositories r ON r.service_id = l.repository_id
                  WHERE r.project_id = ${projectId} AND l.digest = ${digest}) AS project`.pipe(
        single("registry_blob_links", LinkedRow),
        Effect.map((r) => ({ repository: r.repo !== 0, project: r.project !== 0 }))
      )

    // ---- uploads ----
    const createUpload = (repositoryId: string) =>
      Effect.gen(function*() {
        const id = uuidv7()
        const now = nowIso()
        yield* sql`INSERT INTO registry_uploads (id, repository_id, size, started_at, updated_at) VALUES (${id}, ${repositoryId}, 0, ${now}, ${now})`
          .pipe(dbError)
        return id
      })

    const findUpload = (id: string) =>
      sql`SELECT * FROM registry_uploads WHERE id = ${id}`.pipe(first("registry_uploads", UploadSql), Effect.map(Option.map(toUpload)))

    const setUploadSize = (id: string, size: number) =>
      sql`UPDATE registry_uploads SET size = ${size}, updated_at = ${nowIso()} WHERE id = ${id}`.pipe(dbError, Effect.asVoid)

    const deleteUpload = (id: string) => sql`DELETE FROM registry_uploads WHERE id = ${id}`.pipe(dbError, Effect.asVoid)

    const uploadsIdleSince = (cutoffIso: string) =>
      sql`SELECT * FROM registry_uploads WHERE updated_at < ${cutoffIso}`.pipe(
        all("registry_uploads", UploadSql),
        Effect.map((rows) => rows.map(toUpload))
      )

    // ---- manifests and tags ----
    const findManifest = (repositoryId: string, digest: string) =>
      sql`SELECT * FROM registry_manifests WHERE repository_id = ${repositoryId} AND digest = ${digest}`.pipe(
        first("registry_manifests", ManifestSql),
        Effect.map(Option.map(toManifest))
      )

    const resolveTag = (repositoryId: string, tag: string) =>
      sql`SELECT m.* FROM registry_tags t JOIN registry_manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
          WHERE t.repository_id = ${repositoryId} AND t.tag = ${tag}`.pipe(
        first("registry_manifests", ManifestSql),
        Effect.map(Option.map(toManifest))
      )

    /** Which of `refs` are not present in the repository (blobs linked, child manifests stored). */
    const missingRefs = (repositoryId: string, refs: NewManifest["refs"]) =>
      Effect.gen(function*() {
        const missing: Array<string> = []
        for (const ref of refs) {
          const { n } = ref.kind === "blob"
            ? yield* sql`SELECT COUNT(*) AS n FROM registry_blob_links WHERE repository_id = ${repositoryId} AND digest = ${ref.digest}`
              .pipe(
                single("registry_blob_links", CountRow)
              )
            : yield* sql`SELECT COUNT(*) AS n FROM registry_manifests WHERE repository_id = ${repositoryId} AND digest = ${ref.digest}`
              .pipe(
                single("registry_manifests", CountRow)
              )
          if (n === 0) missing.push(ref.digest)
        }
        return missing
      })

    /**
     * Stores a manifest (and points the tag at it) in one transaction, after
     * re-checking that everything it references is present. Returns the
     * missing digests instead when some are not.
     */
    const putManifest = (m: NewManifest) =>
      sql
        .withTransaction(
          Effect.gen(function*() {
            const missing = yield* missingRefs(m.repositoryId, m.refs)
            if (missing.length > 0) return missing
            const now = nowIso()
            yield* sql`INSERT INTO registry_manifests (repository_id, digest, media_type, size, subject_digest, artifact_type, created_at)
                       VALUES (${m.repositoryId}, ${m.digest}, ${m.mediaType}, ${m.size}, ${m.subjectDigest ?? null}, ${
              m.artifactType ?? null
            }, ${now})
                       ON CONFLICT (repository_id, digest) DO UPDATE SET media_type = excluded.media_type`
            for (const ref of m.refs) {
              yield* sql`INSERT INTO registry_manifest_refs (repository_id, manifest_digest, ref_digest, kind)
                         VALUES (${m.repositoryId}, ${m.digest}, ${ref.digest}, ${ref.kind}) ON CONFLICT DO NOTHING`
            }
            if (m.tag !== undefined) {
              yield* sql`INSERT INTO registry_tags (repository_id, tag, manifest_digest, updated_at) VALUES (${m.repositoryId}, ${m.tag}, ${m.digest}, ${now})
                         ON CONFLICT (repository_id, tag) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at`
            }
            yield* sql`UPDATE registry_repositories SET updated_at = ${now} WHERE service_id = ${m.repositoryId}`
            const none: Array<string> = []
            return none
          })
        )
        .pipe(dbError)

    /** Deletes a manifest; its tags and reference rows go with it. */
    const deleteManifest = (repositoryId: string, digest: string) =>
      sql`DELETE FROM registry_manifests WHERE repository_id = ${repositoryId} AND digest = ${digest} RETURNING digest`.pipe(
        dbError,
        Effect.map((rows) => rows.length > 0)
      )

    const deleteTag = (repositoryId: string, tag: string) =>
      sql`DELETE FROM registry_tags WHERE repository_id = ${repositoryId} AND tag = ${tag} RETURNING tag`.pipe(
        dbError,
        Effect.map((rows) => rows.length > 0)
      )

    /** Tags in lexical order after `last`, at most `limit` (undefined = all). */
    const listTags = (repositoryId: string, last: string | undefined, limit: number | undefined) =>
      sql`SELECT tag FROM registry_tags WHERE repository_id = ${repositoryId} AND tag > ${last ?? ""}
          ORDER BY tag LIMIT ${limit ?? -1}`.pipe(
        all("registry_tags", TagRow),
        Effect.map((rows) => rows.map((r) => r.tag))
      )

    const referrers = (repositoryId: string, subject: string) =>
      sql`SELECT * FROM registry_manifests WHERE repository_id = ${repositoryId} AND subject_digest = ${subject} ORDER BY digest`.pipe(
        all("registry_manifests", ManifestSql),
        Effect.map((rows) => rows.map(toManifest))
      )

    // ---- listings ----
    /** Repository names (`project/service`) with at least one manifest, in lexical order. */
    const catalog = (projectIds: ReadonlyArray<string> | undefined, last: string | undefined, limit: number | undefined) =>
      Effect.map(
        sql`SELECT p.name || '/' || s.name AS name, r.project_id
            FROM registry_repositories r JOIN services s ON s.id = r.service_id JOIN projects p ON p.id = r.project_id
            WHERE EXISTS (SELECT 1 FROM registry_manifests m WHERE m.repository_id = r.service_id)
            ORDER BY name`.pipe(all("registry_repositories", CatalogRow)),
        (rows) => {
          const visible = projectIds === undefined ? rows : rows.filter((r) => projectIds.includes(r.project_id))
          const after = visible.map((r) => r.name).filter((n) => last === undefined || n > last)
          return limit === undefined ? after : after.slice(0, limit)
        }
      )

    const repositories = (projectIds: ReadonlyArray<string> | undefined) =>
      Effect.map(
        sql`
            SELECT p.name || '/' || s.name AS name, r.project_id, r.service_id, r.updated_at,
                   (SELECT COUNT(*) FROM registry_tags t WHERE t.repository_id = r.service_id) AS tags,
                   (SELECT COUNT(*) FROM registry_manifests m WHERE m.repository_id = r.service_id) AS manifests
            FROM registry_repositories r JOIN services s ON s.id = r.service_id JOIN projects p ON p.id = r.project_id
            ORDER BY name`.pipe(all("registry_repositories", RepositorySql)),
        (rows): ReadonlyArray<RepositorySummary> =>
          rows
            .filter((r) => projectIds === undefined || projectIds.includes(r.project_id))
            .map((r) => ({
              name: r.name,
              projectId: r.project_id,
              serviceId: r.service_id,
              tags: r.tags,
              manifests: r.manifests,
              updatedAt: r.updated_at
            }))
      )

    // ---- GC ----
    const allBlobs = sql`SELECT * FROM registry_blobs`.pipe(all("registry_blobs", BlobSql), Effect.map((rows) => rows.map(toBlob)))

    /**
     * Digests GC must keep whatever their age: referenced by any manifest, a
     * stored manifest itself, or linked to a repository with an open upload
     * (a push in progress that has not written its manifest yet).
     */
    const protectedDigests = (openUploadSinceIso: string) =>
      sql`SELECT ref_digest AS digest FROM registry_manifest_refs
          UNION SELECT digest FROM registry_manifests
          UNION SELECT subject_digest AS digest FROM registry_manifests WHERE subject_digest IS NOT NULL
          UNION SELECT l.digest FROM registry_blob_links l
                WHERE l.repository_id IN (SELECT repository_id FROM registry_uploads WHERE updated_at >= ${openUploadSinceIso})`.pipe(
        all("registry_manifests", DigestRow),
        Effect.map((rows) => new Set(rows.map((r) => r.digest)))
      )

    /** Whether one digest is protected (same rules as `protectedDigests`). */
    const isProtected = (digest: string, openUploadSinceIso: string) =>
      sql`SELECT
            EXISTS (SELECT 1 FROM registry_manifest_refs WHERE ref_digest = ${digest})
         OR EXISTS (SELECT 1 FROM registry_manifests WHERE digest = ${digest} OR subject_digest = ${digest})
         OR EXISTS (SELECT 1 FROM registry_blob_links l JOIN registry_uploads u ON u.repository_id = l.repository_id
                    WHERE l.digest = ${digest} AND u.updated_at >= ${openUploadSinceIso}) AS n`.pipe(
        Effect.flatMap(decodeFirst("registry_blobs", CountRow)),
        Effect.map((r) => Option.isSome(r) && r.value.n !== 0)
      )

    /** Removes the blob's records if, inside the transaction, it is still unprotected and older than the cutoff. */
    const forgetBlobIfCollectable = (digest: string, graceCutoffIso: string, openUploadSinceIso: string) =>
      sql
        .withTransaction(
          Effect.gen(function*() {
            if (yield* isProtected(digest, openUploadSinceIso)) return false
            const rows = yield* sql`DELETE FROM registry_blobs WHERE digest = ${digest} AND created_at < ${graceCutoffIso} RETURNING digest`
            if (rows.length === 0) return false
            yield* sql`DELETE FROM registry_blob_links WHERE digest = ${digest}`
            return true
          })
        )
        .pipe(dbError)

    const startGcRun = (trigger: "manual" | "periodic") =>
      Effect.gen(function*() {
        const id = uuidv7()
        yield* sql`INSERT INTO registry_gc_runs (id, trigger, started_at) VALUES (${id}, ${trigger}, ${nowIso()})`.pipe(dbError)
        return id
      })

    const finishGcRun = (id: string, r: { blobsDeleted: number; bytesFreed: number; uploadsExpired: number; error: string | null }) =>
      sql`UPDATE registry_gc_runs SET finished_at = ${nowIso()}, blobs_deleted = ${r.blobsDeleted}, bytes_freed = ${r.bytesFreed},
          uploads_expired = ${r.uploadsExpired}, error = ${r.error} WHERE id = ${id}`.pipe(dbError, Effect.asVoid)

    const findGcRun = (id: string) =>
      sql`SELECT * FROM registry_gc_runs WHERE id = ${id}`.pipe(first("registry_gc_runs", GcSql), Effect.map(Option.map(toGcRun)))

    const lastGcRun = sql`SELECT * FROM registry_gc_runs ORDER BY id DESC LIMIT 1`.pipe(
      first("registry_gc_runs", GcSql),
      Effect.map(Option.map(toGcRun))
    )

    const counts = sql`
        SELECT (SELECT COUNT(*) FROM registry_repositories) AS repositories,
               (SELECT COUNT(*) FROM registry_manifests) AS manifests,
               (SELECT COUNT(*) FROM registry_tags) AS tags,
               (SELECT COUNT(*) FROM registry_blobs) AS blobs,
               (SELECT SUM(size) FROM registry_blobs) AS bytes,
               (SELECT COUNT(*) FROM registry_uploads) AS uploads`.pipe(
      single("registry_repositories", CountsRow),
      Effect.map((r) => ({
        repositories: r.repositories,
        manifests: r.manifests,
        tags: r.tags,
        blobs: r.blobs,
        blobBytes: r.bytes ?? 0,
        openUploads: r.uploads
      }))
    )

    return {
      ensureRepository,
      findBlob,
      findLinkedBlob,
      recordBlob,
      linkBlob,
      unlinkBlob,
      usage,
      linkedWhere,
      createUpload,
      findUpload,
      setUploadSize,
      deleteUpload,
      uploadsIdleSince,
      findManifest,
      resolveTag,
      missingRefs: (repositoryId: string, refs: NewManifest["refs"]) => missingRefs(repositoryId, refs).pipe(dbError),
      putManifest,
      deleteManifest,
      deleteTag,
      listTags,
      referrers,
      catalog,
      repositories,
      allBlobs,
      protectedDigests,
      forgetBlobIfCollectable,
      startGcRun,
      finishGcRun,
      findGcRun,
      lastGcRun,
      counts
    }
  })
}) {
  /** The production layer (`X.layer` everywhere; Effect.Service calls it `Default`). */
  static readonly layer = this.Default
}
