import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { CreateRegistry, Registry, UpdateRegistry } from "../../../domain/registry.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"
import { IdPath } from "./projects.js"

export const RegistryList = Schema.Struct({ items: Schema.Array(Registry) })
export const RegistryPath = Schema.Struct({ id: Schema.String, registryId: Schema.String })

const admin = rules.project("admin", "projectPath")

/** A project's pull credentials for external registries (Admin). Responses never carry credentials. */
export class RegistriesGroup extends HttpApiGroup.make("registries")
  .add(HttpApiEndpoint.get("list", "/projects/:id/registries").setPath(IdPath).addSuccess(RegistryList).annotate(Access, admin))
  .add(
    HttpApiEndpoint.post("create", "/projects/:id/registries")
      .setPath(IdPath)
      .setPayload(CreateRegistry)
      .addSuccess(Registry, { status: 201 })
      .annotate(Access, admin)
  )
  .add(
    HttpApiEndpoint.get("get", "/projects/:id/registries/:registryId").setPath(RegistryPath).addSuccess(Registry).annotate(Access, admin)
  )
  .add(
    HttpApiEndpoint.patch("update", "/projects/:id/registries/:registryId")
      .setPath(RegistryPath)
      .setPayload(UpdateRegistry)
      .addSuccess(Registry)
      .annotate(Access, admin)
  )
  .add(
    HttpApiEndpoint.del("delete", "/projects/:id/registries/:registryId")
      .setPath(RegistryPath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, admin)
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
