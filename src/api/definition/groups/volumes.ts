/**
 * Service volumes (SPEC §12b): list with sizes, remove, and backup/restore
 * as a tar stream. The archive endpoints carry raw bodies: the backup
 * answers `application/x-tar` (or `application/zstd` with `?compress=zstd`)
 * with `X-Denia-Snapshot: stopped|live`; the restore reads the request body
 * as a tar (plain or zstd, detected from its bytes) under its own caps — the
 * one `/v1` route the JSON body gate lets through (`bodyGuard.ts`).
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const VolumeInfo = Schema.Struct({
  name: Schema.String,
  /** Null for a volume kept on disk that the service no longer declares. */
  mountPath: Schema.NullOr(Schema.String),
  readOnly: Schema.Boolean,
  /** Bytes used; null before first use (or when it could not be measured in time). */
  bytes: Schema.NullOr(Schema.Number),
  created: Schema.Boolean,
  mounted: Schema.Boolean
}).annotations({ identifier: "VolumeInfo" })
export type VolumeInfo = typeof VolumeInfo.Type

export const VolumeList = Schema.Struct({ items: Schema.Array(VolumeInfo) })
export const VolumePath = Schema.Struct({ id: Schema.String, name: Schema.String })
export const ArchiveQuery = Schema.Struct({ compress: Schema.optional(Schema.Literal("none", "zstd")) })
export const RestoreResult = Schema.Struct({ name: Schema.String, entries: Schema.Number })
export const TarArchive = HttpApiSchema.Uint8Array({ contentType: "application/x-tar" })

/** The restore route, matched by the body gate before routing. */
export const isVolumeArchivePath = (method: string, url: string): boolean =>
  method === "PUT" && /^\/v1\/services\/[^/?#]+\/volumes\/[^/?#]+\/archive(?:\?[^#]*)?$/.test(url)

export class VolumesGroup extends HttpApiGroup.make("volumes")
  .add(
    HttpApiEndpoint.get("list", "/services/:id/volumes")
      .setPath(IdPath)
      .addSuccess(VolumeList)
      .annotate(Access, rules.project("viewer", "servicePath"))
  )
  .add(
    HttpApiEndpoint.del("remove", "/services/:id/volumes/:name")
      .setPath(VolumePath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .add(
    HttpApiEndpoint.get("backup", "/services/:id/volumes/:name/archive")
      .setPath(VolumePath)
      .setUrlParams(ArchiveQuery)
      .addSuccess(TarArchive)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .add(
    HttpApiEndpoint.put("restore", "/services/:id/volumes/:name/archive")
      .setPath(VolumePath)
      .addSuccess(RestoreResult)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
