import { Schema } from "effect"

/** The configuration could not be loaded: names the key (or file) and what is wrong. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("denia/config/ConfigError", {
  key: Schema.optional(Schema.String),
  message: Schema.String,
  /** The failure this one wraps, when there is one (logged, never sent to clients). */
  cause: Schema.optional(Schema.Defect)
}) {
  /** One line, suitable for stderr before exiting 1. */
  get line(): string {
    return this.key === undefined ? `config: ${this.message}` : `config: ${this.key}: ${this.message}`
  }
}
