import solid from "vite-plugin-solid"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      // Daemon, CLI and end-to-end tests: Node environment.
      { extends: true, test: { name: "node", include: ["test/**/*.test.ts"], environment: "node" } },
      // Web console component tests (*.test.tsx): jsdom + the Solid JSX transform.
      {
        extends: true,
        plugins: [solid()],
        resolve: { conditions: ["development", "browser"] },
        test: {
          name: "console",
          include: ["test/unit/console/**/*.test.tsx"],
          environment: "jsdom",
          // Run Solid through Vite (browser build) rather than Node's resolver, which picks its server build.
          server: { deps: { inline: [/solid-js/, /@solidjs\//, /@tanstack\/solid-query/] } }
        }
      }
    ]
  }
})
