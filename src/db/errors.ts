import { Schema } from "effect"

export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", {
  id: Schema.Number,
  name: Schema.String,
  message: Schema.String
}) {}

export class DatabaseOpenFailed extends Schema.TaggedError<DatabaseOpenFailed>()("DatabaseOpenFailed", {
  file: Schema.String,
  message: Schema.String
}) {}
