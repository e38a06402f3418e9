/**
 * Dependency direction (docs/ARCHITECTURE.md): domain ← repos ← subsystems ← app ← api/server ← daemon, cli.
 * api/definition is pure (domain + itself) so the console and the CLI can import it.
 */
const SUBSYSTEMS = "(auth|secrets|oci|registry|builder|autodeploy|runtime|network|volumes|deploy|ingress|autoscale|jobs|observability|exec|events|web)"

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules must not import each other in a cycle.",
      from: { path: "^(src|console/src)" },
      to: { circular: true, viaOnly: { pathNot: "^node_modules", dependencyTypesNot: ["type-only"] }, dependencyTypesNot: ["type-only"] }
    },
    {
      name: "domain-is-pure",
      severity: "error",
      comment: "domain/ holds schemas, ids and errors: no node:*, no other src folder.",
      from: { path: "^src/domain/" },
      to: { pathNot: ["^src/domain/", "^node_modules/effect/"] }
    },
    {
      name: "repos-below-subsystems",
      severity: "error",
      from: { path: "^src/(repos|db)/" },
      to: { path: `^src/(${SUBSYSTEMS.slice(1, -1)}|app|api|daemon|cli)/` }
    },
    {
      name: "config-is-a-leaf",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/", pathNot: ["^src/config/", "^src/domain/"] }
    },
    {
      name: "subsystems-below-app",
      severity: "error",
      comment: "A subsystem never imports app/, api/, daemon/ or cli/; it reacts to others through events/ or a port it defines.",
      from: { path: `^src/${SUBSYSTEMS}/` },
      to: { path: "^src/(app|api|daemon|cli)/" }
    },
    {
      name: "app-below-api",
      severity: "error",
      from: { path: "^src/app/" },
      to: { path: "^src/(api|daemon|cli)/" }
    },
    {
      name: "api-definition-is-pure",
      severity: "error",
      comment: "api/definition is imported by the console and the CLI: HttpApi groups and schemas only.",
      from: { path: "^src/api/definition/" },
      to: { path: "^src/", pathNot: ["^src/api/definition/", "^src/domain/"] }
    },
    {
      name: "api-server-below-composition",
      severity: "error",
      from: { path: "^src/api/server/" },
      to: { path: "^src/(daemon|cli)/" }
    },
    {
      name: "cli-client-talks-http",
      severity: "error",
      comment: "Client commands use the typed API client; only host commands (daemon, doctor) load the daemon graph, lazily.",
      from: { path: "^src/cli/client/" },
      to: { path: "^src/(daemon|app|api/server|repos|db|deploy|ingress|registry|secrets|oci|runtime)/" }
    },
    {
      name: "console-imports-definition-only",
      severity: "error",
      from: { path: "^console/src/" },
      to: { path: "^src/", pathNot: ["^src/api/definition/", "^src/domain/"] }
    },
    {
      name: "tests-not-imported",
      severity: "error",
      from: { path: "^(src|console/src)/" },
      to: { path: "^test/" }
    }
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(dist|build|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".tsx", ".js"] },
    reporterOptions: { text: { highlightFocused: true } }
  }
}
