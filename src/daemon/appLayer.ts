/** The application services (`app/`): one layer for the daemon graph, fed by the subsystems in layers.ts. */
import { Layer } from "effect"
import { DeploymentsApp } from "../app/DeploymentsApp.js"
import { IdentityApp } from "../app/IdentityApp.js"
import { MembersApp } from "../app/MembersApp.js"
import { ProjectsApp } from "../app/ProjectsApp.js"
import { ServicesApp } from "../app/ServicesApp.js"
import { UploadsApp } from "../app/UploadsApp.js"
import { VolumesApp } from "../app/VolumesApp.js"

const base = Layer.mergeAll(
  ProjectsApp.layer,
  ServicesApp.layer,
  DeploymentsApp.layer,
  IdentityApp.layer,
  MembersApp.layer,
  VolumesApp.layer
)

/** `UploadsApp` deploys through `DeploymentsApp`. */
export const appLayer = Layer.provideMerge(UploadsApp.layer, base)
