import { HttpApiSchema } from "@effect/platform"
import { SqlError } from "@effect/sql/SqlError"
import { Cause, Effect, Exit, Logger, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Api from "../../../src/api/definition/errors.js"
import { type HandlerError, internalError, mapAuthErrors, mapDomainErrors } from "../../../src/api/server/errorMapping.js"
import { InvalidCredentials, RateLimited, RoleRequired } from "../../../src/auth/errors.js"
import { UploadNotFound, UploadRejected, UploadStorageError } from "../../../src/builder/errors.js"
import { DatabaseError } from "../../../src/db/errors.js"
import { ActionConflict } from "../../../src/deploy/errors.js"
import { Conflict, Invalid, NotFound } from "../../../src/domain/errors.js"
import { VerificationFailed } from "../../../src/ingress/errors.js"
import { describeOciError } from "../../../src/oci/describeError.js"
import { OciStorageError } from "../../../src/oci/errors.js"
import { clientMessage, InvalidRuntimeName, RuntimeIoError } from "../../../src/runtime/errors.js"
import { InvalidSecretId, SecretStoreIoError } from "../../../src/secrets/errors.js"
import { ArchiveTooLarge, HostileArchive, VolumeInUse, VolumeIoError } from "../../../src/volumes/errors.js"

/** Status of each API error class, read from the response schemas' own annotations. */
const responses = {
  BadRequest: Api.BadRequestResponse,
  Unauthorized: Api.UnauthorizedResponse,
  Forbidden: Api.ForbiddenResponse,
  NotFoundError: Api.NotFoundResponse,
  ConflictError: Api.ConflictResponse,
  PayloadTooLarge: Api.PayloadTooLargeResponse,
  LengthRequired: Api.LengthRequiredResponse,
  UnsupportedMediaType: Api.UnsupportedMediaTypeResponse,
  Unprocessable: Api.UnprocessableResponse,
  TooManyRequests: Api.TooManyRequestsResponse,
  InternalError: Api.InternalErrorResponse
} as const satisfies Record<Api.ApiError["_tag"], Schema.Schema.Any>

const statusOf = (e: Api.ApiError): number => HttpApiSchema.getStatusErrorAST(responses[e._tag].ast)

const hostPath = "/var/lib/denia/secret-dir/file"
const hostCause = new Error(`EACCES: permission denied, open '${hostPath}'`)

/** One sample per tag: a missing tag is a compile error here. */
const samples: { readonly [K in HandlerError["_tag"]]: readonly [Extract<HandlerError, { _tag: K }>, number, string] } = {
  "denia/domain/NotFound": [new NotFound({ entity: "service", id: "s1" }), 404, "NOT_FOUND"],
  "denia/domain/Conflict": [new Conflict({ message: "name: taken" }), 409, "CONFLICT"],
  "denia/domain/Invalid": [new Invalid({ field: "port", message: "must be 1..65535" }), 400, "INVALID_FIELD"],
  "denia/auth/InvalidCredentials": [new InvalidCredentials({ message: "invalid username or password" }), 401, "INVALID_CREDENTIALS"],
  "denia/auth/RoleRequired": [new RoleRequired({ role: "operator", message: "this action needs the operator role" }), 403, "FORBIDDEN"],
  "denia/auth/RateLimited": [new RateLimited({ message: "too many attempts", retryAfterSeconds: 7 }), 429, "RATE_LIMITED"],
  "denia/deploy/ActionConflict": [new ActionConflict({ message: "service is stopped" }), 409, "CONFLICT"],
  "denia/ingress/VerificationFailed": [
    new VerificationFailed({ hostname: "a.example", reason: "token mismatch" }),
    422,
    "VERIFICATION_FAILED"
  ],
  "denia/db/DatabaseError": [new DatabaseError({ cause: hostCause }), 500, "INTERNAL"],
  "denia/oci/OciStorageError": [
    new OciStorageError({ operation: "status", path: hostPath, reason: hostCause.message, cause: hostCause }),
    500,
    "INTERNAL"
  ],
  "denia/runtime/RuntimeIoError": [
    new RuntimeIoError({ op: "read", path: hostPath, message: hostCause.message, cause: hostCause }),
    500,
    "INTERNAL"
  ],
  "denia/runtime/InvalidRuntimeName": [new InvalidRuntimeName({ field: "service", value: "x", message: "bad" }), 500, "INTERNAL"],
  "denia/secrets/SecretStoreIoError": [
    new SecretStoreIoError({ path: hostPath, reason: hostCause.message, cause: hostCause }),
    500,
    "INTERNAL"
  ],
  "denia/secrets/InvalidSecretId": [new InvalidSecretId({ field: "projectId", reason: "not a uuid" }), 500, "INTERNAL"],
  "denia/volumes/VolumeInUse": [new VolumeInUse({ message: "volume data is mounted" }), 409, "CONFLICT"],
  "denia/volumes/HostileArchive": [new HostileArchive({ rule: "absolute path", entry: "/etc/passwd" }), 400, "HOSTILE_ARCHIVE"],
  "denia/volumes/ArchiveTooLarge": [new ArchiveTooLarge({ limit: "more than 10 entries", entry: "x" }), 413, "ARCHIVE_TOO_LARGE"],
  "denia/volumes/VolumeIoError": [new VolumeIoError({ operation: "create data", cause: hostCause }), 500, "INTERNAL"],
  "denia/builder/UploadRejected": [
    new UploadRejected({ rule: "hardlink", entry: "a", message: "hardlink: entry \"a\" is a hardlink", status: 400 }),
    400,
    "UPLOAD_REJECTED"
  ],
  "denia/builder/UploadNotFound": [new UploadNotFound({ uploadId: "u1" }), 404, "NOT_FOUND"],
  "denia/builder/UploadStorageError": [new UploadStorageError({ message: hostCause.message, cause: hostCause }), 500, "INTERNAL"]
}

/** Runs `effect`, collecting every log line's message and cause as text. */
const withLogs = <A, E>(effect: Effect.Effect<A, E>) => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message, cause, annotations }) => {
    lines.push([JSON.stringify(message), Cause.pretty(cause), JSON.stringify(Object.fromEntries(annotations))].join(" "))
  })
  return Effect.runPromiseExit(effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))).then((exit) => ({
    exit,
    logs: lines.join("\n")
  }))
}

const mapped = async (e: HandlerError) => {
  const { exit, logs } = await withLogs(mapDomainErrors(Effect.fail(e)))
  if (!Exit.isFailure(exit)) throw new Error("mapDomainErrors succeeded")
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "None") throw new Error(`not a failure: ${Cause.pretty(exit.cause)}`)
  return { error: failure.value, logs }
}

describe("errorMapping", () => {
  for (const [tag, [error, status, code]] of Object.entries(samples)) {
    it(`${tag} → ${status} ${code}`, async () => {
      expect(error._tag).toBe(tag)
      const { error: api } = await mapped(error)
      expect(statusOf(api)).toBe(status)
      expect(api.code).toBe(code)
    })
  }

  it("keeps the messages clients see today", async () => {
    expect((await mapped(samples["denia/domain/NotFound"][0])).error.message).toBe("service s1 not found")
    expect((await mapped(samples["denia/domain/Invalid"][0])).error).toMatchObject({
      message: "port: must be 1..65535",
      details: { field: "port" }
    })
    expect((await mapped(samples["denia/deploy/ActionConflict"][0])).error.message).toBe("service is stopped")
    expect((await mapped(samples["denia/auth/RateLimited"][0])).error.details).toEqual({ retryAfterSeconds: 7 })
    expect((await mapped(samples["denia/ingress/VerificationFailed"][0])).error).toMatchObject({
      message: "verification of a.example failed: token mismatch",
      details: { hostname: "a.example", reason: "token mismatch" }
    })
  })

  it("a DatabaseError body carries only an error id; the log carries the id with the cause", async () => {
    const { error, logs } = await mapped(
      new DatabaseError({ cause: new Error(`SQLITE_CORRUPT: database disk image is malformed at ${hostPath}`) })
    )
    if (!(error instanceof Api.InternalError)) throw new Error(`expected InternalError, got ${error._tag}`)
    const body = JSON.stringify(Schema.encodeSync(Api.InternalErrorResponse)(error))
    const parsed = JSON.parse(body) as { error: { code: string; message: string; details: { errorId: string } } }
    expect(Object.keys(parsed.error).sort()).toEqual(["code", "details", "message"])
    expect(Object.keys(parsed.error.details)).toEqual(["errorId"])
    expect(parsed.error.message).toBe("internal error")
    expect(body).not.toContain("SQLITE")
    expect(body).not.toContain(hostPath)
    expect(parsed.error.details.errorId).toMatch(/^[0-9a-f-]{36}$/)
    expect(logs).toContain(parsed.error.details.errorId)
    expect(logs).toContain("SQLITE_CORRUPT")
  })

  it("every 500 gets a fresh id", async () => {
    const a = (await mapped(samples["denia/db/DatabaseError"][0])).error.details as { errorId: string }
    const b = (await mapped(samples["denia/db/DatabaseError"][0])).error.details as { errorId: string }
    expect(a.errorId).not.toBe(b.errorId)
  })

  it("a SQL defect (a repository's orDie) is logged as DatabaseError, answered with an id only", async () => {
    const sqlError = new SqlError({ cause: new Error("disk I/O error"), message: "Failed to execute statement" })
    const { exit, logs } = await withLogs(internalError(Cause.die(sqlError)))
    if (!Exit.isSuccess(exit)) throw new Error("internalError failed")
    expect(exit.value.details).toEqual({ errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) })
    expect(logs).toContain("denia/db/DatabaseError")
    expect(logs).toContain("disk I/O error")
  })

  it("leaves errors it does not know to the caller", async () => {
    class Other extends Schema.TaggedError<Other>()("denia/test/Other", {}) {}
    const { exit } = await withLogs(mapDomainErrors(Effect.fail(new Other())))
    expect(Exit.isFailure(exit) && Cause.failureOption(exit.cause).pipe((o) => o._tag === "Some" && o.value instanceof Other)).toBe(true)
  })

  it("mapAuthErrors turns NotFound and auth errors into 404/401/403/429", async () => {
    const run = async (e: NotFound | InvalidCredentials | RoleRequired | RateLimited) => {
      const exit = await Effect.runPromiseExit(mapAuthErrors(Effect.fail(e)))
      const f = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      if (f === undefined || f._tag === "None") throw new Error("expected a failure")
      return statusOf(f.value)
    }
    expect(await run(new NotFound({ entity: "project", id: "p" }))).toBe(404)
    expect(await run(new InvalidCredentials({ message: "no" }))).toBe(401)
    expect(await run(new RoleRequired({ role: "admin", message: "no" }))).toBe(403)
    expect(await run(new RateLimited({ message: "slow down", retryAfterSeconds: 1 }))).toBe(429)
  })
})

describe("client-facing failure texts name no host paths", () => {
  it("an OCI storage failure (pull status, deployment error) names the operation only", () => {
    const text = describeOciError(
      new OciStorageError({ operation: "unpack layer 1/3", path: hostPath, reason: hostCause.message, cause: hostCause })
    )
    expect(text).toContain("unpack layer 1/3")
    expect(text).not.toContain(hostPath)
  })
  it("a runtime I/O failure (deployment error) names the operation only", () => {
    const text = clientMessage(new RuntimeIoError({ op: "mkdir", path: hostPath, message: hostCause.message, cause: hostCause }))
    expect(text).toContain("mkdir")
    expect(text).not.toContain(hostPath)
  })
})
