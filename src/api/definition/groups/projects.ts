import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { CreateProject, Project, UpdateProject } from "../../../domain/project.js"
import { Access, rules } from "../access.js"
import { Authorization } from "../security.js"

export const IdPath = Schema.Struct({ id: Schema.String })
export const ProjectList = Schema.Struct({ items: Schema.Array(Project) })

export class ProjectsGroup extends HttpApiGroup.make("projects")
  .add(HttpApiEndpoint.get("list", "/projects").addSuccess(ProjectList).annotate(Access, rules.authenticated))
  .add(
    HttpApiEndpoint.post("create", "/projects")
      .setPayload(CreateProject)
      .addSuccess(Project, { status: 201 })
      .annotate(Access, rules.superAdmin)
  )
  .add(
    HttpApiEndpoint.get("get", "/projects/:id").setPath(IdPath).addSuccess(Project).annotate(Access, rules.project("viewer", "projectPath"))
  )
  .add(
    HttpApiEndpoint.patch("update", "/projects/:id")
      .setPath(IdPath)
      .setPayload(UpdateProject)
      .addSuccess(Project)
      .annotate(Access, rules.project("admin", "projectPath"))
  )
  .add(
    HttpApiEndpoint.del("delete", "/projects/:id")
      .setPath(IdPath)
      .addSuccess(HttpApiSchema.NoContent)
      .annotate(Access, rules.project("admin", "projectPath"))
  )
  .middleware(Authorization)
  .prefix("/v1")
{}
