/**
 * No secret value may appear anywhere but in the encrypted SOPS files: not in
 * SQLite (main file, WAL, SHM), not in any other file under the data dir, not
 * in the daemon's log output (debug level), not in any API response (success
 * or error), not in the audit log.
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { resolveRegistryCredentials } from "../../../src/secrets/registries.js"
import { resolveLaunchEnv } from "../../../src/secrets/serviceSecrets.js"
import type { TestDaemon } from "../../support/daemon.js"
import { addMember, createUser, ensureBootstrap, login } from "../../support/identity.js"
import { caller, runWithSecrets, startLoggedDaemon } from "./helpers.js"

const secret = (label: string) => `${label}-${randomBytes(12).toString("hex")}`
const values = {
  basicPassword: secret("basic-pw"),
  basicPassword2: secret("basic-pw2"),
  bearerToken: secret("bearer"),
  bearerToken2: secret("bearer2"),
  ecrToken: secret("ecr"),
  garToken: secret("gar"),
  dbPassword: secret("db"),
  dbPasswordOld: secret("db-old"),
  apiKey: secret("apikey"),
  deletedSecret: secret("deleted"),
  rejectedToken: secret("rejected"),
  rejectedValue: secret("rejected-value")
}
const allValues = Object.values(values)

// Everything the daemon logs (Effect logger, debug level), plus anything
// written to the console or to stdout/stderr while the test runs.
const logOutput: Array<string> = []
const restore: Array<() => void> = []
const capture = () => {
  const text = (args: ReadonlyArray<unknown>) =>
    args.map((
      a
    ) => (typeof a === "string" ? a : a instanceof Uint8Array ? Buffer.from(a).toString("utf8") : JSON.stringify(a) ?? String(a))).join(" ")
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method]
    console[method] = (...args: Array<unknown>) => void logOutput.push(text(args))
    restore.push(() => (console[method] = original))
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream)
    stream.write = ((chunk: unknown) => {
      logOutput.push(text([chunk]))
      return true
    }) as typeof stream.write
    restore.push(() => (stream.write = original))
  }
}

let d: TestDaemon
const responses: Array<string> = []
let call: ReturnType<typeof caller>

beforeAll(async () => {
  capture()
  d = await startLoggedDaemon(logOutput, { log_level: "debug" })
  call = caller(d, responses)
}, 60_000)
afterAll(async () => {
  await d.stop()
  restore.splice(0).reverse().forEach((r) => r())
})

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? walk(p) : e.isFile() ? [p] : []
  })

const isSopsFile = (p: string) => /\.sops\.yaml(\.[0-9a-f]+\.tmp)?$/.test(p) || /\/\.[^/]+\.sops\.yaml\.[0-9a-f]+\.tmp$/.test(p)

/** Plain text and base64 forms of every value that occur in `haystack`. */
const leaksIn = (haystack: Buffer | string): Array<string> => {
  const buf = typeof haystack === "string" ? Buffer.from(haystack, "utf8") : haystack
  return allValues.filter((v) =>
    buf.includes(Buffer.from(v, "utf8")) || buf.includes(Buffer.from(Buffer.from(v, "utf8").toString("base64").slice(0, 24), "utf8"))
  )
}

describe("no secret value leaks", () => {
  it("full flow: registries, service secrets, reads, deletes, then grep everything", async () => {
    await ensureBootstrap(d, "root")
    const project = (await call("/v1/projects", { method: "POST", json: { name: "leaky" } })).json<{ id: string }>()
    const viewer = await createUser(d, "leak-viewer")
    const operator = await createUser(d, "leak-operator")
    await addMember(d, project.id, viewer.id, "viewer")
    await addMember(d, project.id, operator.id, "operator")
    const viewerToken = (await login(d, "leak-viewer")).token
    const operatorToken = (await login(d, "leak-operator")).token
    const regs = `/v1/projects/${project.id}/registries`

    // registries with every credential kind
    const basic = await call(regs, {
      method: "POST",
      json: {
        name: "basic",
        endpoint: "registry.example.com",
        auth: { kind: "basic", username: "deployer", password: values.basicPassword }
      }
    })
    expect(basic.status, basic.text).toBe(201)
    const token = await call(regs, {
      method: "POST",
      json: { name: "token", endpoint: "ghcr.io", auth: { kind: "token", token: values.bearerToken } }
    })
    expect(token.status).toBe(201)
    expect(
      (await call(regs, {
        method: "POST",
        json: { name: "ecr", endpoint: "1.dkr.ecr.us-east-1.amazonaws.com", auth: { kind: "ecr", token: values.ecrToken } }
      })).status
    ).toBe(201)
    const gar = await call(regs, {
      method: "POST",
      json: { name: "gar", endpoint: "europe-docker.pkg.dev", auth: { kind: "gar", token: values.garToken } }
    })
    expect(gar.status).toBe(201)
    const basicId = basic.json<{ id: string }>().id
    const tokenId = token.json<{ id: string }>().id
    const garId = gar.json<{ id: string }>().id

    // rejected inputs carrying secret values
    expect(
      (await call(regs, {
        method: "POST",
        json: { name: "bad1", endpoint: "ghcr.io", auth: { kind: "anonymous", token: values.rejectedToken } }
      })).status
    ).toBe(400)
    expect(
      (await call(regs, {
        method: "POST",
        json: { name: "bad2", endpoint: "ghcr.io", auth: { kind: "token", token: `${values.rejectedToken}\n` } }
      })).status
    ).toBe(400)
    expect(
      (await call(regs, {
        method: "POST",
        json: { name: "bad3", endpoint: "ghcr.io", auth: { kind: "basic", username: "x", password: values.rejectedToken, extra: 1 } }
      })).status
    ).toBe(400)
    expect(
      (await call(regs, {
        method: "POST",
        token: viewerToken,
        json: { name: "bad4", endpoint: "ghcr.io", auth: { kind: "token", token: values.rejectedToken } }
      })).status
    ).toBe(403)
    expect(
      (await call(regs, {
        method: "POST",
        json: { name: "basic", endpoint: "ghcr.io", auth: { kind: "token", token: values.rejectedToken } }
      })).status
    ).toBe(409)

    // a service pulling through the basic registry, with secrets
    const svc = await call("/v1/services", {
      method: "POST",
      token: operatorToken,
      json: {
        projectId: project.id,
        name: "app",
        port: 8080,
        source: { type: "image", image: "registry.example.com/app:1", registryId: basicId },
        env: { MODE: "prod" }
      }
    })
    expect(svc.status, svc.text).toBe(201)
    const serviceId = svc.json<{ id: string }>().id
    const secrets = `/v1/services/${serviceId}/secrets`
    for (
      const [name, value] of [["DB_PASSWORD", values.dbPasswordOld], ["DB_PASSWORD", values.dbPassword], ["API_KEY", values.apiKey], [
        "TEMP",
        values.deletedSecret
      ]] as const
    ) {
      expect((await call(secrets, { method: "POST", token: operatorToken, json: { name, value } })).status).toBe(201)
    }
    expect((await call(secrets, { method: "POST", json: { name: "bad-name", value: values.rejectedValue } })).status).toBe(400)
    expect((await call(secrets, { method: "POST", json: { name: "OK", value: `${values.rejectedValue}\u0000` } })).status).toBe(400)
    expect((await call(secrets, { method: "POST", token: viewerToken, json: { name: "VIEWER", value: values.rejectedValue } })).status)
      .toBe(403)

    // reads by every role
    for (const t of [undefined, operatorToken, viewerToken]) {
      const opts = t === undefined ? {} : { token: t }
      await call(regs, opts)
      await call(`${regs}/${basicId}`, opts)
      await call(secrets, opts)
      await call(`/v1/services/${serviceId}`, opts)
      await call(`/v1/services?projectId=${project.id}`, opts)
      await call(`/v1/projects/${project.id}`, opts)
    }

    // changes and deletes
    expect(
      (await call(`${regs}/${basicId}`, {
        method: "PATCH",
        json: { auth: { kind: "basic", username: "deployer", password: values.basicPassword2 } }
      })).status
    ).toBe(200)
    expect((await call(`${regs}/${tokenId}`, { method: "PATCH", json: { auth: { kind: "token", token: values.bearerToken2 } } })).status)
      .toBe(200)
    expect((await call(`${regs}/${basicId}`, { method: "DELETE" })).status).toBe(409)
    expect((await call(`${regs}/${garId}`, { method: "DELETE" })).status).toBe(204)
    expect((await call(`${secrets}/TEMP`, { method: "DELETE", token: operatorToken })).status).toBe(204)

    // the consumers decrypt what they need (and must not log it)
    expect(await runWithSecrets(d, resolveRegistryCredentials(project.id, basicId))).toEqual({
      kind: "basic",
      username: "deployer",
      password: values.basicPassword2
    })
    expect(await runWithSecrets(d, resolveRegistryCredentials(project.id, tokenId))).toEqual({ kind: "bearer", token: values.bearerToken2 })
    const env = await runWithSecrets(d, Effect.flatMap(Effect.flatMap(ServicesRepo, (r) => r.get(serviceId)), (s) => resolveLaunchEnv(s)))
    expect(env).toMatchObject({ DB_PASSWORD: values.dbPassword, API_KEY: values.apiKey, MODE: "prod" })
    expect(env["TEMP"]).toBeUndefined()

    // the audit log, fetched through the API
    const audit = await call("/v1/audit?limit=500")
    expect(audit.status).toBe(200)
    const actions = audit.json<{ items: Array<{ action: string }> }>().items.map((e) => e.action)
    expect(actions).toEqual(
      expect.arrayContaining(["registry.create", "registry.update", "registry.delete", "secret.set", "secret.delete"])
    )

    // --- the grep ---
    // control: the matcher finds a value in plain and in base64 form
    expect(leaksIn(`x ${values.apiKey} y`)).toEqual([values.apiKey])
    expect(leaksIn(Buffer.from(values.dbPassword).toString("base64"))).toEqual([values.dbPassword])
    const sqliteFiles = ["", "-wal", "-shm"].map((s) => `${d.config.paths.sqlite}${s}`).filter((f) => fs.existsSync(f))
    expect(sqliteFiles).toContain(`${d.config.paths.sqlite}-wal`)
    for (const f of sqliteFiles) expect(leaksIn(fs.readFileSync(f)), f).toEqual([])

    const files = walk(d.dataDir)
    const sopsFiles = files.filter(isSopsFile)
    expect(sopsFiles.length).toBeGreaterThanOrEqual(5) // 3 registries with credentials + 2 secrets remain
    for (const f of files.filter((f) => !isSopsFile(f))) expect(leaksIn(fs.readFileSync(f)), f).toEqual([])
    // the SOPS files hold ciphertext only
    for (const f of sopsFiles) expect(leaksIn(fs.readFileSync(f)), f).toEqual([])

    expect(responses.length).toBeGreaterThan(30)
    for (const r of responses) expect(leaksIn(r), r.slice(0, 200)).toEqual([])

    // the log capture works (the daemon logged at startup and at debug level) and holds no value
    const logs = logOutput.join("\n")
    expect(logs).toContain("Denia API listening")
    expect(logs).toContain("level=DEBUG")
    expect(logs).toContain("created age identity")
    expect(leaksIn(logs)).toEqual([])

    expect(leaksIn(audit.text)).toEqual([])
  })
})
