/** Every service the user can see, across projects. */
import { A } from "@solidjs/router"
import { ServiceTable } from "../components/ServiceTable.js"

export default function Services() {
  return (
    <section aria-labelledby="services-title">
      <header class="page-head">
        <h1 id="services-title">Services</h1>
        <A class="btn btn-primary" href="/services/new">
          New service
        </A>
      </header>
      <div class="card">
        <ServiceTable showProject />
      </div>
    </section>
  )
}
