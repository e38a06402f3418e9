import { Effect } from "effect"
import type { Project } from "../../domain/project.js"
import type { DeniaClient } from "./connection.js"
import { DEFAULT_PROJECT } from "./resolve.js"

/** `→ redeploy to apply: denia deploy web`: env and secrets reach replicas at the next deployment. */
export const redeployHint = (args: ReadonlyArray<string>): string =>
  args.length === 0
    ? "→ applies to the next deployment of each service"
    : `→ redeploy to apply: ${args.map((a) => `denia deploy ${a}`).join(" && ")}`

/** The hint for a project's shared env: every service of the project that has a live deployment. */
export const projectRedeployHint = (client: DeniaClient, project: Project) =>
  client.services.list({ urlParams: { projectId: project.id } }).pipe(
    Effect.map((r) =>
      redeployHint(
        r.items
          .filter((s) => (s.status?.liveDeploymentId ?? s.promotedDeploymentId) !== null)
          .map((s) => (project.name === DEFAULT_PROJECT ? s.name : `${project.name}/${s.name}`))
      )
    )
  )
