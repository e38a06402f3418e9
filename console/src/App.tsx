/**
 * Routes and providers. Every page is its own chunk (`lazy`), so the first
 * load carries only the shell, the router, the query cache and the API client.
 */
import { Navigate, Route, Router, useNavigate } from "@solidjs/router"
import { QueryClient, QueryClientProvider } from "@tanstack/solid-query"
import { lazy, type ParentProps } from "solid-js"
import { configureClient } from "./api/client.js"
import { ApiFailure } from "./api/failure.js"
import { Layout } from "./components/Layout.js"
import { sessionStore } from "./state/session.js"

const Setup = lazy(() => import("./pages/Setup.js"))
const Login = lazy(() => import("./pages/Login.js"))
const Projects = lazy(() => import("./pages/Projects.js"))
const ProjectDetail = lazy(() => import("./pages/ProjectDetail.js"))
const Services = lazy(() => import("./pages/Services.js"))
const ServiceCreate = lazy(() => import("./pages/ServiceCreate.js"))
const ServiceDetail = lazy(() => import("./pages/ServiceDetail.js"))
const ServiceEdit = lazy(() => import("./pages/ServiceEdit.js"))
const Settings = lazy(() => import("./pages/Settings.js"))
const Password = lazy(() => import("./pages/Password.js"))
const Audit = lazy(() => import("./pages/Audit.js"))
const Registry = lazy(() => import("./pages/Registry.js"))
const NotFound = lazy(() => import("./pages/NotFound.js"))

export const makeQueryClient = () =>
  new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // Client errors (4xx) will not get better by asking again.
        retry: (count, error) => {
          const status = error instanceof ApiFailure ? error.status : 0
          return status >= 400 && status < 500 ? false : count < 2
        }
      }
    }
  })

/**
 * Connects the API client to the session: a 401 on any call ends the session
 * (expired, logged out elsewhere, or revoked by a password change) and
 * returns to the login page, which says why.
 */
const Root = (props: ParentProps) => {
  const navigate = useNavigate()
  // Synchronously, before any page below starts a query.
  configureClient({
    baseUrl: window.location.origin,
    token: sessionStore.token,
    onUnauthorized: () => {
      if (sessionStore.token() === undefined) return
      sessionStore.signOut()
      navigate("/login?expired=1", { replace: true })
    }
  })
  return <>{props.children}</>
}

export const App = (props: { readonly queryClient?: QueryClient }) => {
  // Once: a JSX prop expression is a getter in Solid, and would build a new cache on every read.
  const client = props.queryClient ?? makeQueryClient()
  return (
    <QueryClientProvider client={client}>
      <Router root={Root}>
        <Route path="/setup" component={Setup} />
        <Route path="/login" component={Login} />
        <Route path="/" component={Layout}>
          <Route path="/" component={() => <Navigate href="/projects" />} />
          <Route path="/projects" component={Projects} />
          <Route path="/projects/:id" component={ProjectDetail} />
          <Route path="/services" component={Services} />
          <Route path="/services/new" component={ServiceCreate} />
          <Route path="/services/:id" component={ServiceDetail} />
          <Route path="/services/:id/edit" component={ServiceEdit} />
          <Route path="/settings" component={Settings} />
          <Route path="/account/password" component={Password} />
          <Route path="/audit" component={Audit} />
          <Route path="/registry" component={Registry} />
          <Route path="*404" component={NotFound} />
        </Route>
      </Router>
    </QueryClientProvider>
  )
}
