/**
 * Git sources and auto-deploy: the public webhook endpoint (authenticated by
 * the secret in its path and the forge's signature, not by a bearer token),
 * and per-service Git state for operators: status, webhook secret rotation
 * (the URL shown once), "check now", and the reset of a pinned SSH host key.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { AutoDeployOutcome, GitStatus } from "../../../domain/gitStatus.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const HookPath = Schema.Struct({
  serviceId: Schema.String.pipe(Schema.maxLength(64)),
  secret: Schema.String.pipe(Schema.maxLength(128))
})

/** A new webhook: the secret is shown here once and never again. */
export const WebhookCreated = Schema.Struct({
  /** The full hook URL (on `control_domain` when configured, else the address this request came to). */
  url: Schema.String,
  path: Schema.String,
  /** Also the HMAC secret to enter in GitHub/Gitea and GitLab's secret token. */
  secret: Schema.String
}).annotations({ identifier: "WebhookCreated" })

export class HooksGroup extends HttpApiGroup.make("hooks")
  .add(
    HttpApiEndpoint.post("deliver", "/hooks/:serviceId/:secret")
      .setPath(HookPath)
      .addSuccess(AutoDeployOutcome, { status: 202 })
      .annotate(Access, rules.public)
  )
  .prefix("/v1")
{}

export class GitGroup extends HttpApiGroup.make("git")
  .add(
    HttpApiEndpoint.get("status", "/services/:id/git")
      .setPath(IdPath)
      .addSuccess(GitStatus)
      .annotate(Access, rules.project("viewer", "servicePath"))
  )
  .add(
    HttpApiEndpoint.post("rotateHook", "/services/:id/git/hook")
      .setPath(IdPath)
      .addSuccess(WebhookCreated, { status: 201 })
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .add(
    HttpApiEndpoint.post("check", "/services/:id/git/check")
      .setPath(IdPath)
      .addSuccess(AutoDeployOutcome)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .add(
    HttpApiEndpoint.del("resetHostKey", "/services/:id/git/host-key")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, rules.project("operator", "servicePath"))
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
