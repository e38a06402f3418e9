/**
 * The CLI's command tree. Client commands are loaded with it (they need only
 * the API definition); host tools (`config`, `doctor`) load their modules with
 * a dynamic `import()` when they run, so a client command never pays for the
 * daemon graph. The daemon itself (`denia`, `denia daemon`) is started by
 * src/main.ts before this tree is loaded; these entries exist for `--help`.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import { authCommand } from "./client/auth.js"
import { actionCommands, deployCommand, deploymentsCommand, logsCommand, uploadsCommand } from "./client/deployments.js"
import { domainsCommand } from "./client/domains.js"
import { envCommand } from "./client/env.js"
import { membersCommand, tokensCommand, usersCommand } from "./client/identity.js"
import { projectsCommand } from "./client/projects.js"
import { createCommand, initCommand, pushCommand } from "./client/push.js"
import { secretsCommand } from "./client/secrets.js"
import { servicesCommand } from "./client/services.js"
import { volumesCommand } from "./client/volumes.js"

export class DaemonUsage extends Schema.TaggedError<DaemonUsage>()("DaemonUsage", { message: Schema.String }) {}

/** Reached only when options follow the daemon mode (`denia --log-level x`): the daemon takes none. */
const daemonUsage = Effect.fail(
  new DaemonUsage({
    message:
      "the daemon takes no options (settings live in config.toml, see `denia config`): run `denia` or `denia daemon`; `denia --help` lists the commands"
  })
)

const daemonCommand = Command.make("daemon", {}, () => daemonUsage).pipe(
  Command.withDescription("Run the daemon in the foreground (the same as `denia` with no arguments).")
)

const configCommand = Command.make(
  "config",
  { json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text")) },
  (o) =>
    Effect.flatMap(
      Effect.promise(() => import("./configCommand.js")),
      (m) => m.runConfig(o.json)
    )
).pipe(Command.withDescription("Print the effective configuration (secrets redacted)."))

const doctorCommand = Command.make(
  "doctor",
  { json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text")) },
  (o) =>
    Effect.flatMap(
      Effect.promise(() => import("./doctor/command.js")),
      (m) => m.runDoctor(o.json)
    )
).pipe(Command.withDescription("Check that this host can run Denia; prints a fix for every problem."))

const uninstallCommand = Command.make(
  "uninstall",
  {},
  () =>
    Effect.flatMap(
      Effect.promise(() => import("./uninstallCommand.js")),
      (m) => m.runUninstall
    )
).pipe(Command.withDescription("Remove the node network from the host (nftables table, replica namespaces, bridge); root, daemon stopped."))

export const rootCommand = Command.make("denia", {}, () => daemonUsage).pipe(
  Command.withDescription(
    "Denia: a single-node PaaS. `denia` (or `denia daemon`) runs the daemon; the commands below are host tools and API clients."
  ),
  Command.withSubcommands([
    daemonCommand,
    configCommand,
    doctorCommand,
    uninstallCommand,
    authCommand,
    projectsCommand,
    servicesCommand,
    envCommand,
    secretsCommand,
    volumesCommand,
    domainsCommand,
    initCommand,
    createCommand,
    pushCommand,
    deployCommand,
    deploymentsCommand,
    uploadsCommand,
    logsCommand,
    ...actionCommands,
    usersCommand,
    tokensCommand,
    membersCommand
  ])
)
