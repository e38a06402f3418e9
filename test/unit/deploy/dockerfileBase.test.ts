/** The final stage's FROM image of a Dockerfile, for the base prewarm (ADR 0805). */
import { describe, expect, it } from "vitest"
import { finalBaseImage } from "../../../src/deploy/dockerfileBase.js"

const image = (reference: string, platform?: string) => ({ _tag: "image", reference, platform })

describe("finalBaseImage", () => {
  it("reads a single FROM, case-insensitively, with AS and --platform", () => {
    expect(finalBaseImage("FROM python:3.12-slim\nCMD python3\n")).toEqual(image("python:3.12-slim"))
    expect(finalBaseImage("from python:3.12-slim as app\n")).toEqual(image("python:3.12-slim"))
    expect(finalBaseImage("FROM --platform=linux/amd64 127.0.0.1:5000/p/base:py AS x\n")).toEqual(
      image("127.0.0.1:5000/p/base:py", "linux/amd64")
    )
  })

  it("takes the last stage and follows a FROM of an earlier stage name to its image", () => {
    const text = [
      "FROM golang:1.22 AS build",
      "RUN go build",
      "FROM debian:12-slim AS Runtime",
      "RUN apt-get install",
      "FROM runtime",
      "COPY --from=build /out /app"
    ].join("\n")
    expect(finalBaseImage(text)).toEqual(image("debian:12-slim"))
    // a stage name only refers to stages before it; a later name of the same spelling is an image
    expect(finalBaseImage("FROM alpine AS base\nFROM base AS base2\nFROM base2\n")).toEqual(image("alpine"))
    expect(finalBaseImage("FROM debian:12 AS build\nFROM build2\nFROM alpine AS build2\n")).toEqual(image("alpine"))
  })

  it("skips ARG-dependent refs and platforms, scratch, unknown flags and Dockerfiles without FROM", () => {
    expect(finalBaseImage("ARG V=3.12\nFROM python:${V}\n")._tag).toBe("skip")
    expect(finalBaseImage("ARG B\nFROM $B AS app\nFROM app\n")._tag).toBe("skip")
    expect(finalBaseImage("FROM --platform=$BUILDPLATFORM alpine\n")._tag).toBe("skip")
    expect(finalBaseImage("FROM alpine AS b\nFROM scratch\nCOPY --from=b / /\n")).toEqual({
      _tag: "skip",
      reason: "the final stage is FROM scratch"
    })
    expect(finalBaseImage("FROM --chown=1 alpine\n")._tag).toBe("skip")
    expect(finalBaseImage("# only a comment\nRUN true\n")._tag).toBe("skip")
    expect(finalBaseImage("FROM alpine extra words\n")._tag).toBe("skip")
  })

  it("skips comments, blank lines, continuations (any escape) and heredoc bodies", () => {
    expect(finalBaseImage("# FROM wrong\n\n  FROM \\\n  # a comment inside\n  python:3 \\\n  AS app\n")).toEqual(image("python:3"))
    expect(finalBaseImage("# escape=`\nFROM `\n  mcr.example/base:1\nRUN dir c:\\\n")).toEqual(image("mcr.example/base:1"))
    const heredoc = ["FROM alpine:3", "RUN <<EOF", "FROM not-an-instruction", "EOF", "COPY <<-END /x", "\tFROM nor-this", "\tEND", ""]
    expect(finalBaseImage(heredoc.join("\n"))).toEqual(image("alpine:3"))
    expect(finalBaseImage("FROM alpine:3\r\nFROM debian:12\r\n")).toEqual(image("debian:12"))
  })
})
