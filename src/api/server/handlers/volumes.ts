import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest, NodeStream } from "@effect/platform-node"
import { Effect, Stream } from "effect"
import { VolumesApp } from "../../../app/VolumesApp.js"
import { DeniaApi } from "../../definition/DeniaApi.js"
import { mapDomainErrors } from "../errorMapping.js"

export const VolumesHandlers = HttpApiBuilder.group(DeniaApi, "volumes", (handlers) =>
  Effect.gen(function*() {
    const app = yield* VolumesApp
    return handlers
      .handle("list", ({ path }) => mapDomainErrors(Effect.map(app.list(path.id), (items) => ({ items }))))
      .handle("remove", ({ path }) => mapDomainErrors(app.remove(path.id, path.name)))
      // A streamed tar (never buffered): the producer runs as fast as the client reads; a failure mid-way cuts the stream.
      .handle("backup", ({ path, urlParams }) =>
        mapDomainErrors(Effect.map(app.backup(path.id, path.name, urlParams.compress ?? "none"), (opened) => {
          const zstd = urlParams.compress === "zstd"
          const body = NodeStream.fromReadable<Error>(() =>
            opened.stream, (e) => (e instanceof Error ? e : new Error(String(e)))).pipe(
              Stream.tapError((e) => Effect.logWarning(`volume backup of ${path.name} ended early`, e)),
              Stream.ensuring(opened.close)
            )
          return HttpServerResponse.stream(body, {
            contentType: zstd ? "application/zstd" : "application/x-tar",
            headers: {
              "x-denia-snapshot": opened.snapshot,
              "content-disposition": `attachment; filename="${path.name}.tar${zstd ? ".zst" : ""}"`,
              ...(opened.bytes === null ? {} : { "x-denia-volume-bytes": String(opened.bytes) })
            }
          })
        })))
      // The body is read here, not by the JSON gate (bodyGuard exempts this route): a tar or tar.zst, under the volumes' caps.
      // A refusal answered before the whole body arrived (a declared length past the cap, a hostile entry)
      // closes the connection instead of reading the rest of the body.
      .handleRaw("restore", ({ path, request }) => {
        const incoming = NodeHttpServerRequest.toIncomingMessage(request)
        return mapDomainErrors(
          Effect.map(
            app.restore(path.id, path.name, incoming),
            (r) =>
              HttpServerResponse.unsafeJson({ name: path.name, entries: r.entries })
          )
        ).pipe(Effect.tapError(() =>
          Effect.sync(() => {
            if (!incoming.complete) NodeHttpServerRequest.toServerResponse(request).setHeader("connection", "close")
          })
        ))
      })
  }))
