import { Schema } from "effect"
import { EnvMap } from "./env.js"
import { Id } from "./ids.js"
import { Limits } from "./limits.js"
import { ResourceName } from "./names.js"

export const Project = Schema.Struct({
  id: Id,
  name: ResourceName,
  sharedEnv: EnvMap,
  defaultLimits: Schema.NullOr(Limits),
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotations({ identifier: "Project" })
export type Project = typeof Project.Type

export const CreateProject = Schema.Struct({
  name: ResourceName,
  sharedEnv: Schema.optionalWith(EnvMap, { default: () => ({}) }),
  defaultLimits: Schema.optionalWith(Schema.NullOr(Limits), { default: () => null })
}).annotations({ identifier: "CreateProject", parseOptions: { onExcessProperty: "error" } })
export type CreateProject = typeof CreateProject.Type

export const UpdateProject = Schema.Struct({
  name: Schema.optional(ResourceName),
  sharedEnv: Schema.optional(EnvMap),
  defaultLimits: Schema.optional(Schema.NullOr(Limits))
}).annotations({ identifier: "UpdateProject", parseOptions: { onExcessProperty: "error" } })
export type UpdateProject = typeof UpdateProject.Type
