import { Schema } from "effect"

/**
 * Domain failures, independent of transport. The API maps each to one HTTP
 * status in `src/api/server/errorMapping.ts`.
 */
export class NotFound extends Schema.TaggedError<NotFound>()("denia/domain/NotFound", {
  entity: Schema.String,
  id: Schema.String
}) {
  override get message(): string {
    return `${this.entity} ${this.id} not found`
  }
}

export class Conflict extends Schema.TaggedError<Conflict>()("denia/domain/Conflict", {
  message: Schema.String
}) {}

/** Input that is well-formed JSON but wrong; `field` names the offending field. */
export class Invalid extends Schema.TaggedError<Invalid>()("denia/domain/Invalid", {
  field: Schema.String,
  message: Schema.String
}) {}
