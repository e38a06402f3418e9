/** What every section of the service page gets. */
import type { Accessor, Component, Setter } from "solid-js"
import type { Service } from "../../../../src/domain/service.js"
import type { ServiceView } from "../../lib/serviceState.js"

export interface SectionProps {
  readonly service: Service
  /** State for display and for which actions make sense; undefined while it is being worked out. */
  readonly view: Accessor<ServiceView | undefined>
  readonly canOperate: boolean
  /** The deployment whose log is open. */
  readonly openLog: Accessor<string | undefined>
  readonly setOpenLog: Setter<string | undefined>
}

export interface Section {
  readonly id: string
  readonly title: string
  /** Shown only to operators (the API would refuse viewers anyway). */
  readonly operatorOnly?: boolean
  /** Shown only for services this holds for (e.g. Git sources). */
  readonly when?: (service: Service) => boolean
  readonly component: Component<SectionProps>
}
