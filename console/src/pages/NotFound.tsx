import { A } from "@solidjs/router"

export default function NotFound() {
  return (
    <section class="state state-empty" aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p class="muted">
        Nothing lives at this address. Go to <A href="/projects">Projects</A>.
      </p>
    </section>
  )
}
