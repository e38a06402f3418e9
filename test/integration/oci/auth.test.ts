import { Effect } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { anonymous } from "../../../src/oci/index.js"
import { buildAndPush, type BuiltTag, busyboxImage } from "../../support/ociImages.js"
import { type RunningRegistry, startRegistry, startTokenIssuer, type TokenIssuer } from "../../support/registry.js"
import { failureOf, startOci } from "./helpers.js"

const user = { username: "alice", password: "s3cret-pass" }

describe("registry auth: htpasswd Basic", () => {
  let registry: RunningRegistry
  let built: BuiltTag
  beforeAll(async () => {
    registry = await startRegistry({ basicAuth: user })
    built = await buildAndPush(busyboxImage(), registry.host, "private/app", "v1", { credentials: user })
  })
  afterAll(async () => registry?.stop())

  it("pulls with Basic credentials", async () => {
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const img = await Effect.runPromise(
        h.oci.pull(`${registry.host}/private/app:v1`, { kind: "basic", ...user })
      )
      expect(img.digest).toBe(built.digest)
      expect((await fs.stat(path.join(img.rootfs, "bin/busybox"))).isFile()).toBe(true)
    } finally {
      await h.close()
    }
  })

  it("refuses anonymous and wrong credentials with RegistryUnauthorized", async () => {
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const anon = await failureOf(h.oci.pull(`${registry.host}/private/app:v1`, anonymous))
      expect(anon._tag).toBe("denia/oci/RegistryUnauthorized")
      const wrong = await failureOf(
        h.oci.pull(`${registry.host}/private/app:v1`, { kind: "basic", username: "alice", password: "nope" })
      )
      expect(wrong._tag).toBe("denia/oci/RegistryUnauthorized")
      expect(await fs.readdir(path.join(h.dataDir, "oci-cache/blobs/sha256"))).toEqual([])
    } finally {
      await h.close()
    }
  })
})

describe("registry auth: bearer token flow", () => {
  let issuer: TokenIssuer
  let registry: RunningRegistry
  let built: BuiltTag
  beforeAll(async () => {
    issuer = await startTokenIssuer(user)
    registry = await startRegistry({
      tokenAuth: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootCertBundle: issuer.rootCertBundle }
    })
    built = await buildAndPush(busyboxImage(), registry.host, "team/app", "v1", { credentials: user })
  })
  afterAll(async () => {
    await registry?.stop()
    await issuer?.stop()
  })

  it("follows WWW-Authenticate to the realm, pulls, and caches the token", async () => {
    const h = await startOci({ insecureRegistries: [registry.host, issuer.host] })
    try {
      const before = issuer.issued()
      const img = await Effect.runPromise(h.oci.pull(`${registry.host}/team/app:v1`, { kind: "basic", ...user }))
      expect(img.digest).toBe(built.digest)
      // manifest + config + layer requests share one token
      expect(issuer.issued() - before).toBe(1)
      const again = await Effect.runPromise(h.oci.resolve(`${registry.host}/team/app:v1`, { kind: "basic", ...user }))
      expect(again.digest).toBe(built.digest)
      expect(issuer.issued() - before).toBe(1)
    } finally {
      await h.close()
    }
  })

  it("uses a static bearer token when given one", async () => {
    const h = await startOci({ insecureRegistries: [registry.host, issuer.host] })
    try {
      const res = await fetch(`${issuer.realm}?service=${issuer.service}&scope=repository:team/app:pull`, {
        headers: { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}` }
      })
      const { token } = (await res.json()) as { token: string }
      const img = await Effect.runPromise(h.oci.resolve(`${registry.host}/team/app:v1`, { kind: "bearer", token }))
      expect(img.digest).toBe(built.digest)
      const bad = await failureOf(h.oci.resolve(`${registry.host}/team/app:v1`, { kind: "bearer", token: "garbage" }))
      expect(bad._tag).toBe("denia/oci/RegistryUnauthorized")
    } finally {
      await h.close()
    }
  })

  it("anonymous tokens grant nothing: RegistryUnauthorized", async () => {
    const h = await startOci({ insecureRegistries: [registry.host, issuer.host] })
    try {
      const err = await failureOf(h.oci.pull(`${registry.host}/team/app:v1`, anonymous))
      expect(err._tag).toBe("denia/oci/RegistryUnauthorized")
    } finally {
      await h.close()
    }
  })

  it("refuses a token realm on an internal address that is not allow-listed", async () => {
    const h = await startOci({ insecureRegistries: [registry.host] })
    try {
      const err = await failureOf(h.oci.pull(`${registry.host}/team/app:v1`, { kind: "basic", ...user }))
      expect(err._tag).toBe("denia/oci/SsrfRefused")
    } finally {
      await h.close()
    }
  })
})
