import { Effect } from "effect"
import type { Authz } from "../auth/Authz.js"
import { redactEnv } from "../domain/env.js"
import type { Principal } from "../domain/principal.js"
import type { Project } from "../domain/project.js"
import type { Service } from "../domain/service.js"

type AuthzApi = Authz

/** Viewers see env keys with values replaced by `<redacted>`. */
export const redactService = (authz: AuthzApi, principal: Principal) => (s: Service) =>
  Effect.map(authz.canSeeEnvValues(principal, s.projectId), (ok): Service => (ok ? s : { ...s, env: redactEnv(s.env) }))

export const redactProject = (authz: AuthzApi, principal: Principal) => (p: Project) =>
  Effect.map(authz.canSeeEnvValues(principal, p.id), (ok): Project => (ok ? p : { ...p, sharedEnv: redactEnv(p.sharedEnv) }))
