import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Runtime } from "effect"
import { VolumesApp } from "../../../app/VolumesApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { sendBackup, socketForChild } from "../backupResponse.js"
import { mapDomainErrors } from "../errorMapping.js"
import { SAFE_API_HEADERS } from "../middleware.js"

export const VolumesHandlers = HttpApiBuilder.group(DeniaApi, "volumes", (handlers) =>
  Effect.gen(function*() {
    const app = yield* VolumesApp
    return handlers
      .handle("list", ({ path }) => mapDomainErrors(Effect.map(app.list(path.id), (items) => ({ items }))))
      .handle("remove", ({ path }) => mapDomainErrors(app.remove(path.id, path.name)))
      // A streamed tar (never buffered): the producer runs as fast as the client reads; a failure mid-way
      // cuts the stream. On a plain connection the archive goes into the socket without passing through
      // the daemon (backupResponse.ts, ADR 0903); otherwise it is piped through the Node response.
      .handleRaw("backup", ({ path, request, urlParams }) =>
        mapDomainErrors(Effect.gen(function*() {
          const compress = urlParams.compress ?? "none"
          const opened = yield* app.backup(path.id, path.name, compress)
          const zstd = compress === "zstd"
          const headers = {
            ...SAFE_API_HEADERS,
            "content-type": zstd ? "application/zstd" : "application/x-tar",
            "x-denia-snapshot": opened.snapshot,
            "content-disposition": `attachment; filename="${path.name}.tar${zstd ? ".zst" : ""}"`,
            ...(opened.bytes === null ? {} : { "x-denia-volume-bytes": String(opened.bytes) })
          }
          const res = NodeHttpServerRequest.toServerResponse(request)
          const socket = socketForChild(res)
          if (socket !== undefined) {
            yield* sendBackup(res, socket, { headers, start: opened.start }).pipe(Effect.ensuring(opened.close))
            return HttpServerResponse.empty()
          }
          const runtime = yield* Effect.runtime<never>()
          const started = yield* opened.start().pipe(Effect.tapError(() => opened.close))
          started.stream.once("error", (e) => Runtime.runFork(runtime)(Effect.logWarning(`volume backup of ${path.name} ended early`, e)))
          started.stream.once("close", () => Runtime.runFork(runtime)(opened.close))
          return HttpServerResponse.raw(started.stream, { headers })
        })))
      // The body is read here, not by the JSON gate (bodyGuard exempts this route): a tar or tar.zst, under the volumes' caps.
      // A refusal answered before the whole body arrived (a declared length past the cap, a hostile entry)
      // closes the connection instead of reading the rest of the body.
      .handleRaw("restore", ({ path, request }) => {
        const incoming = NodeHttpServerRequest.toIncomingMessage(request)
        return mapDomainErrors(
          Effect.map(
            app.restore(path.id, path.name, incoming),
            (r) => HttpServerResponse.unsafeJson({ name: path.name, entries: r.entries })
          )
        ).pipe(
          // an unread body (a refusal answered early), or one the helper took (ADR 0904): Node's parser
          // never saw its end, so the connection cannot carry another request
          Effect.ensuring(Effect.sync(() => {
            if (!incoming.complete) NodeHttpServerRequest.toServerResponse(request).setHeader("connection", "close")
          }))
        )
      })
  }))
