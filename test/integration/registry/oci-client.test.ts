/** Denia's own OCI client pulls `hosted` images from the node's registry (hostedRegistry option bypasses the network guard). */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { buildAndPush, busyboxImage } from "../../support/ociImages.js"
import { type OciHarness, startOci } from "../oci/helpers.js"
import { ADMIN_TOKEN, type Fixture, startFixture } from "./support.js"

let f: Fixture
let h: OciHarness
let viewerToken: string
beforeAll(async () => {
  f = await startFixture()
  const shop = await f.project("shop")
  await f.service(shop, "web")
  viewerToken = await f.user("vera", { projectId: shop, role: "viewer" })
  h = await startOci({ insecureRegistries: [], hostedRegistry: f.host })
}, 60_000)
afterAll(async () => {
  await h.close()
  await f.d.stop()
})

describe("OCI client against the hosted registry", () => {
  it("pulls and unpacks <host>/<project>/<service>:<tag> with the admin token, and with a viewer's API token", async () => {
    const built = await buildAndPush(busyboxImage(), f.host, "shop/web", "v1", { credentials: { username: "x", password: ADMIN_TOKEN } })
    const img = await Effect.runPromise(h.oci.pull(`${f.host}/shop/web:v1`, { kind: "basic", username: "denia", password: ADMIN_TOKEN }))
    expect(img.digest).toBe(built.digest)
    expect(fs.existsSync(path.join(img.rootfs, "bin", "busybox"))).toBe(true)
    const resolved = await Effect.runPromise(h.oci.resolve(`${f.host}/shop/web:v1`, { kind: "bearer", token: viewerToken }))
    expect(resolved.digest).toBe(built.digest)
  }, 60_000)

  it("without the hostedRegistry option the loopback registry is refused by the network guard", async () => {
    const guarded = await startOci({ insecureRegistries: [] })
    try {
      const exit = await Effect.runPromiseExit(
        guarded.oci.resolve(`${f.host}/shop/web:v1`, { kind: "basic", username: "x", password: ADMIN_TOKEN })
      )
      expect(exit._tag).toBe("Failure")
    } finally {
      await guarded.close()
    }
  })
})
