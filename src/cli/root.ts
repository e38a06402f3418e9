import { Command } from "@effect/cli"
import { Effect } from "effect"
import { DeniaConfig } from "../config/Config.js"
import { runDaemon } from "../daemon/run.js"
import { configCommand } from "./configCommand.js"
import { doctorCommand } from "./doctor/command.js"
import { projectsCommand } from "./client/projects.js"
import { servicesCommand } from "./client/services.js"
import { authCommand } from "./client/auth.js"
import { actionCommands, deployCommand, deploymentsCommand, logsCommand } from "./client/deployments.js"
import { membersCommand, tokensCommand, usersCommand } from "./client/identity.js"

/** `denia` alone runs the daemon; subcommands are host tools and API clients. */
export const rootCommand = Command.make("denia", {}, () =>
  runDaemon.pipe(Effect.provide(DeniaConfig.fromProcess(true)))
).pipe(
  Command.withDescription("Denia: a single-node PaaS. Without a subcommand, runs the daemon."),
  Command.withSubcommands([
    configCommand,
    doctorCommand,
    authCommand,
    projectsCommand,
    servicesCommand,
    usersCommand,
    tokensCommand,
    membersCommand,
    deployCommand,
    deploymentsCommand,
    logsCommand,
    ...actionCommands
  ])
)
