import { Effect, Either } from "effect"
import { type ImageReference, parseImageReference } from "../domain/imageReference.js"
import { InvalidReference } from "./errors.js"

export { DOCKER_HUB, DOCKER_HUB_API, formatReference, type ImageReference } from "../domain/imageReference.js"

/** `parseImageReference` as an effect failing with the OCI subsystem's error. */
export const parseReference = (input: string): Effect.Effect<ImageReference, InvalidReference> =>
  Effect.suspend(() =>
    Either.match(parseImageReference(input), {
      onLeft: (reason) => Effect.fail(new InvalidReference({ reference: input, reason })),
      onRight: Effect.succeed
    })
  )
