import { configFields, configKeys, type ConfigValues, envVar, fieldOf, tomlKey } from "./schema.js"

/** The complete, commented config file written on first boot. */
export const renderTemplate = (values: ConfigValues): string => {
  const lines: Array<string> = [
    "# Denia configuration.",
    "# Every key is optional except admin_token; each can be overridden by the",
    "# environment variable shown (a non-empty DENIA_<KEY> wins over this file).",
    "# Unknown keys or bad values stop the daemon with a message naming the key.",
    "# `denia config` prints the effective values (secrets redacted); `denia doctor`",
    "# checks that this host can run them. Restart the daemon (`denia`) to apply changes.",
    ""
  ]
  for (const key of configKeys) {
    const field = fieldOf(key)
    if (field.section !== undefined) lines.push(`# --- ${field.section} ---`, "")
    lines.push(`# ${field.doc}`)
    lines.push(`# Type: ${field.kind.typeName}. Env: ${envVar(key)}. Default: ${field.kind.render(configFields[key].default)}`)
    lines.push(`${tomlKey(key)} = ${field.kind.render(values[key])}`, "")
  }
  return lines.join("\n")
}
