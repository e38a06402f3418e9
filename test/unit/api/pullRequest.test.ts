import { Either, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { PullRequest } from "../../../src/api/definition/groups/oci.js"

const decode = Schema.decodeUnknownEither(PullRequest)

describe("POST /v1/oci/pulls body", () => {
  it("accepts an image reference the service image would accept", () => {
    expect(Either.isRight(decode({ image: "registry.example/app:1.2" }))).toBe(true)
  })

  it.each(["app:1\u001b[2J", "app:1\r", "app\u0000:1", "Bad Image", "x".repeat(513)])("refuses %j with a message", (image) => {
    const result = decode({ image })
    expect(Either.isLeft(result)).toBe(true)
  })
})
