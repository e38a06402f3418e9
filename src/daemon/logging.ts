import { Layer, Logger, LogLevel } from "effect"
import type { ConfigValues } from "../config/schema.js"

const levels = { debug: LogLevel.Debug, info: LogLevel.Info, warning: LogLevel.Warning, error: LogLevel.Error } as const

/** Daemon logger from `log_level` / `log_format`. Logs go to stderr-friendly text or JSON lines. */
export const loggingLayer = (values: Pick<ConfigValues, "logLevel" | "logFormat">) =>
  Layer.merge(
    values.logFormat === "json" ? Logger.json : Logger.logFmt,
    Logger.minimumLogLevel(levels[values.logLevel])
  )
