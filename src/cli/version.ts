import { Schema } from "effect"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const pkg = Schema.decodeUnknownSync(Schema.Struct({ version: Schema.String }))(require("../../package.json"))

export const VERSION: string = pkg.version
