import { createRequire } from "node:module"
import { Schema } from "effect"

const require = createRequire(import.meta.url)
const pkg = Schema.decodeUnknownSync(Schema.Struct({ version: Schema.String }))(require("../../package.json"))

export const VERSION: string = pkg.version
