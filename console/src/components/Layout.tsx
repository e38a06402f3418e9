/**
 * The signed-in frame: a sidebar (navigation, command palette, theme, who is
 * signed in, logout) around the page. Without a session it sends the user to
 * the login page, remembering where they were going. On narrow screens the
 * sidebar collapses to a top bar with a menu button; navigating closes it.
 */
import { A, type RouteSectionProps, useLocation, useNavigate } from "@solidjs/router"
import { useQueryClient } from "@tanstack/solid-query"
import { createEffect, createMemo, createSignal, on, Show } from "solid-js"
import { call } from "../api/client.js"
import { useMe, useProjects, useServices } from "../api/queries.js"
import { sessionStore } from "../state/session.js"
import { theme, toggleTheme } from "../state/theme.js"
import { type Command, CommandPalette, openPalette } from "./CommandPalette.js"

export const Layout = (props: RouteSectionProps) => {
  const navigate = useNavigate()
  const location = useLocation()
  const qc = useQueryClient()
  const signedIn = () => sessionStore.token() !== undefined

  createEffect(() => {
    if (!signedIn()) navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true })
  })

  const logout = async () => {
    try {
      await call((c) => c.auth.logout())
    } catch {
      // The session may already be gone; signing out locally is what matters.
    }
    sessionStore.signOut()
    qc.clear()
    navigate("/login", { replace: true })
  }

  return (
    <Show when={signedIn()}>
      <SignedIn logout={logout}>{props.children}</SignedIn>
    </Show>
  )
}

const SignedIn = (props: { readonly logout: () => void; readonly children: RouteSectionProps["children"] }) => {
  const navigate = useNavigate()
  const location = useLocation()
  const [menuOpen, setMenuOpen] = createSignal(false)
  createEffect(on(() => location.pathname, () => setMenuOpen(false), { defer: true }))
  const me = useMe()
  const projects = useProjects()
  const services = useServices()

  const commands = createMemo((): ReadonlyArray<Command> => [
    { id: "go-projects", group: "Go to", label: "Projects", run: () => navigate("/projects") },
    { id: "go-services", group: "Go to", label: "Services", run: () => navigate("/services") },
    { id: "go-registry", group: "Go to", label: "Registry (hosted images)", run: () => navigate("/registry") },
    { id: "go-settings", group: "Go to", label: "Settings (API tokens, users)", run: () => navigate("/settings") },
    { id: "go-password", group: "Account", label: "Change password", run: () => navigate("/account/password") },
    ...(me.data?.superAdmin === true ? [{ id: "go-audit", group: "Go to", label: "Audit log", run: () => navigate("/audit") }] : []),
    { id: "new-project", group: "Create", label: "New project", run: () => navigate("/projects?new=1") },
    { id: "new-service", group: "Create", label: "New service", run: () => navigate("/services/new") },
    { id: "theme", group: "Preferences", label: `Switch to ${theme() === "dark" ? "light" : "dark"} theme`, run: toggleTheme },
    { id: "logout", group: "Account", label: "Log out", run: props.logout },
    ...(projects.data ?? []).map((p) => ({ id: `p-${p.id}`, group: "Project", label: p.name, run: () => navigate(`/projects/${p.id}`) })),
    ...(services.data ?? []).map((s) => {
      const project = projects.data?.find((p) => p.id === s.projectId)
      return {
        id: `s-${s.id}`,
        group: "Service",
        label: project === undefined ? s.name : `${project.name} / ${s.name}`,
        run: () => navigate(`/services/${s.id}`)
      }
    })
  ])

  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <aside class="sidebar" classList={{ "menu-open": menuOpen() }} aria-label="Sidebar">
        <div class="sidebar-top">
          <div class="brand">
            <span class="brand-mark" aria-hidden="true">
              ◆
            </span>
            Denia
          </div>
          <button
            type="button"
            class="btn menu-toggle"
            aria-expanded={menuOpen()}
            aria-controls="sidebar-body"
            onClick={() => setMenuOpen((o) => !o)}
          >
            {menuOpen() ? "Close menu" : "Menu"}
          </button>
        </div>
        <div class="sidebar-body" id="sidebar-body">
          <button type="button" class="palette-trigger" onClick={openPalette} aria-keyshortcuts="Control+K Meta+K">
            <span>Jump to…</span>
            <kbd>Ctrl K</kbd>
          </button>
          <nav aria-label="Main">
            <ul>
              <li>
                <A href="/projects" activeClass="active">
                  Projects
                </A>
              </li>
              <li>
                <A href="/services" activeClass="active">
                  Services
                </A>
              </li>
              <li>
                <A href="/registry" activeClass="active">
                  Registry
                </A>
              </li>
              <Show when={me.data?.superAdmin}>
                <li>
                  <A href="/audit" activeClass="active">
                    Audit log
                  </A>
                </li>
              </Show>
              <li>
                <A href="/settings" activeClass="active">
                  Settings
                </A>
              </li>
            </ul>
          </nav>
          <div class="sidebar-foot">
            <button
              type="button"
              class="btn btn-ghost"
              onClick={toggleTheme}
              aria-label={`Switch to ${theme() === "dark" ? "light" : "dark"} theme`}
            >
              {theme() === "dark" ? "☀ Light" : "☾ Dark"}
            </button>
            <div class="whoami">
              <span class="muted">Signed in as</span>
              <strong data-testid="username">{me.data?.user?.username ?? sessionStoreName()}</strong>
              <Show when={me.data?.superAdmin}>
                <span class="badge">super-admin</span>
              </Show>
            </div>
            <A href="/account/password" class="muted">
              Change password
            </A>
            <button type="button" class="btn" onClick={() => props.logout()}>
              Log out
            </button>
          </div>
        </div>
      </aside>
      <main id="main" class="main" tabindex="-1">
        {props.children}
      </main>
      <CommandPalette commands={commands} />
    </div>
  )
}

const sessionStoreName = () => sessionStore.session()?.username ?? ""
