/** `denia domains ls|add|verify|rm <service>`: custom domains and their verification. */
import { Args, Command } from "@effect/cli"
import { Effect } from "effect"
import type { Domain } from "../../domain/domain.js"
import { connectionOptions, type DeniaClient, withClient } from "./connection.js"
import { asCommandError, ClientCommandError } from "./errors.js"
import { printRows, printValue } from "./output.js"
import { isId, resolveService, serviceArgFor } from "./resolve.js"
import { projectOption, serviceArg } from "./services.js"

const domainArg = Args.text({ name: "domain" }).pipe(Args.withDescription("Host name (e.g. www.example.com) or domain id"))

const columns = [
  ["hostname", (d: Domain) => d.hostname],
  ["status", (d: Domain) => d.status],
  ["certificate", (d: Domain) => d.certificate.status],
  ["error", (d: Domain) => d.lastError ?? d.certificate.error ?? ""],
  ["id", (d: Domain) => d.id]
] as const

const findDomain = (c: DeniaClient, serviceId: string, ref: string) =>
  asCommandError(
    Effect.gen(function*() {
      const list = yield* c.ingress.listDomains({ path: { id: serviceId } })
      const d = list.items.find((x) => (isId(ref) ? x.id === ref : x.hostname === ref.toLowerCase()))
      if (d === undefined) {
        return yield* new ClientCommandError({ message: `no domain ${JSON.stringify(ref)} on this service (see: denia domains ls)` })
      }
      return d
    })
  )

const ls = Command.make(
  "ls",
  { ...connectionOptions, project: projectOption, service: serviceArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const list = yield* c.ingress.listDomains({ path: { id: r.service.id } })
        return yield* printRows(o.json, list, list.items, columns)
      }))
).pipe(Command.withDescription("List a service's custom domains."))

const add = Command.make("add", {
  ...connectionOptions,
  project: projectOption,
  service: serviceArg,
  hostname: Args.text({ name: "hostname" }).pipe(Args.withDescription("Host name to attach"))
}, (o) =>
  withClient(o, (c) =>
    Effect.gen(function*() {
      const r = yield* resolveService(c, o.service, o.project)
      const d = yield* c.ingress.attachDomain({ path: { id: r.service.id }, payload: { hostname: o.hostname } })
      const arg = serviceArgFor(r)
      return yield* printValue(
        o.json,
        d,
        [
          `attached ${d.hostname} to ${r.project.name}/${r.service.name} (pending verification)`,
          `point ${d.hostname}'s DNS at this host; the daemon then answers ${d.verificationUrl}`,
          `→ then: denia domains verify ${arg} ${d.hostname}`
        ].join("\n")
      )
    }))).pipe(Command.withDescription("Attach a custom domain (pending until verified)."))

const verify = Command.make(
  "verify",
  { ...connectionOptions, project: projectOption, service: serviceArg, domain: domainArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const found = yield* findDomain(c, r.service.id, o.domain)
        const d = yield* c.ingress.verifyDomain({ path: { id: r.service.id, domainId: found.id } })
        return yield* printValue(
          o.json,
          d,
          `${d.hostname}: ${d.status}${
            d.certificate.status === "none" ? "" : `, certificate ${d.certificate.status}`
          } (routes now; no redeploy needed)`
        )
      }))
).pipe(Command.withDescription("Check a pending domain's challenge; verified domains route at once."))

const rm = Command.make(
  "rm",
  { ...connectionOptions, project: projectOption, service: serviceArg, domain: domainArg },
  (o) =>
    withClient(o, (c) =>
      Effect.gen(function*() {
        const r = yield* resolveService(c, o.service, o.project)
        const found = yield* findDomain(c, r.service.id, o.domain)
        yield* c.ingress.deleteDomain({ path: { id: r.service.id, domainId: found.id } })
        return yield* printValue(o.json, { removed: found.hostname }, `removed ${found.hostname} from ${r.project.name}/${r.service.name}`)
      }))
).pipe(Command.withDescription("Detach a custom domain."))

export const domainsCommand = Command.make("domains").pipe(
  Command.withDescription("Manage a service's custom domains."),
  Command.withSubcommands([ls, add, verify, rm])
)
