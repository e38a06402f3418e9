import { Effect } from "effect"
import { Ingress } from "../../../ingress/Ingress.js"

/**
 * Wraps handlers that change what the ingress routes (services, project
 * names): on success the route table is rebuilt at once instead of at the next
 * periodic refresh. A failed refresh is left to that periodic refresh.
 */
export const makeRouteRefresh = Effect.map(
  Ingress,
  (ingress) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.tap(effect, () => ingress.refresh.pipe(Effect.catchAllCause(() => Effect.void)))
)
