import { Schema } from "effect"

/** The configuration could not be loaded: names the key (or file) and what is wrong. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  key: Schema.optional(Schema.String),
  message: Schema.String
}) {
  /** One line, suitable for stderr before exiting 1. */
  get line(): string {
    return this.key === undefined ? `config: ${this.message}` : `config: ${this.key}: ${this.message}`
  }
}
