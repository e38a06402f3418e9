import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { Deployment } from "../../domain/deployment.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const DeploymentList = Schema.Struct({ items: Schema.Array(Deployment) })

export class DeploymentsGroup extends HttpApiGroup.make("deployments")
  .add(
    HttpApiEndpoint.get("listForService", "/services/:id/deployments")
      .setPath(IdPath)
      .addSuccess(DeploymentList)
      .annotate(Access, rules.project("viewer", "servicePath"))
  )
  .add(
    HttpApiEndpoint.get("get", "/deployments/:id")
      .setPath(IdPath)
      .addSuccess(Deployment)
      .annotate(Access, rules.project("viewer", "deploymentPath"))
  )
  .middleware(Authorization)
  .prefix("/v1") {}
