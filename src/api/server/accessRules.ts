import { HttpApi } from "@effect/platform"
import { Context, Option } from "effect"
import { Access, type AccessRule } from "../definition/access.js"
import { DeniaApi } from "../definition/DeniaApi.js"
import { Authorization } from "../definition/security.js"

export interface EndpointAccess {
  readonly group: string
  readonly name: string
  readonly method: string
  readonly path: string
  readonly rule: AccessRule | undefined
  readonly authenticated: boolean
}

/** Every endpoint of the API definition with its declared access rule. */
export const endpointAccess = (): ReadonlyArray<EndpointAccess> => {
  const out: Array<EndpointAccess> = []
  HttpApi.reflect(DeniaApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group, mergedAnnotations, middleware }) => {
      out.push({
        group: group.identifier,
        name: endpoint.name,
        method: endpoint.method,
        path: endpoint.path,
        rule: Option.getOrUndefined(Context.getOption(mergedAnnotations, Access)),
        authenticated: [...middleware].some((m) => m.key === Authorization.key)
      })
    }
  })
  return out
}

export const routeKey = (method: string, path: string): string => `${method.toUpperCase()} ${path}`

/** `METHOD /path/:param` → rule, for the authorization middleware. */
export const accessRuleTable = (): ReadonlyMap<string, AccessRule> =>
  new Map(endpointAccess().flatMap((e) => (e.rule === undefined ? [] : [[routeKey(e.method, e.path), e.rule] as const])))
