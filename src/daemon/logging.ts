import { Layer, Logger, LogLevel } from "effect"
import type { ConfigValues } from "../config/schema.js"

const levels = { debug: LogLevel.Debug, info: LogLevel.Info, warning: LogLevel.Warning, error: LogLevel.Error } as const

/** Daemon logger from `log_level` / `log_format`. Logs go to stderr-friendly text or JSON lines. */
export const loggingLayer = (values: Pick<ConfigValues, "logLevel" | "logFormat">) =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, values.logFormat === "json" ? Logger.jsonLogger : Logger.logfmtLogger),
    Logger.minimumLogLevel(levels[values.logLevel])
  )
