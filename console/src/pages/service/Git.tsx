/**
 * A Git-source service: the pinned SSH host key (with a reset after a
 * verified key change), auto-deploy state and its last error, "check now",
 * and the webhook — its URL and secret are shown once, right after they are
 * created (here, or by the create form), with copy buttons.
 */
import { useLocation } from "@solidjs/router"
import { type Component, createSignal, For, Show } from "solid-js"
import { useGitMutations, useGitStatus, type WebhookCreated } from "../../api/git.js"
import { ErrorState, FormError, Loading } from "../../components/States.js"
import { formatTime } from "../../lib/format.js"
import type { SectionProps } from "./section.js"

const CopyButton = (props: { readonly text: string; readonly label: string }) => {
  const [copied, setCopied] = createSignal(false)
  return (
    <button
      type="button"
      class="btn btn-ghost"
      aria-label={props.label}
      onClick={() => void navigator.clipboard?.writeText(props.text).then(() => setCopied(true), () => setCopied(false))}
    >
      {copied() ? "Copied" : "Copy"}
    </button>
  )
}

/** The URL and secret of a webhook just created: shown this once. */
export const WebhookOnce = (props: { readonly hook: WebhookCreated }) => (
  <div class="banner banner-warn" role="status" aria-label="Webhook URL">
    <div>
      <strong>Webhook URL — shown only now.</strong> Copy it into your forge (GitHub: content type application/json, push events).
      <div class="row">
        <code class="mono wrap" data-webhook-url>
          {props.hook.url}
        </code>
        <CopyButton text={props.hook.url} label="Copy webhook URL" />
      </div>
      <div class="row">
        <span class="muted">Secret (GitHub/Gitea "Secret", GitLab "Secret token"):</span>
        <code class="mono wrap">{props.hook.secret}</code>
        <CopyButton text={props.hook.secret} label="Copy webhook secret" />
      </div>
    </div>
  </div>
)

export const Git: Component<SectionProps> = (props) => {
  const status = useGitStatus(() => props.service.id)
  const m = useGitMutations(() => props.service.id)
  const location = useLocation<{ webhook?: WebhookCreated }>()
  const [hook, setHook] = createSignal<WebhookCreated | undefined>(location.state?.webhook)
  const mode = () => (props.service.source.type === "git" ? props.service.source.autoDeploy?.mode : undefined)
  return (
    <>
      <Show when={hook()}>{(h) => <WebhookOnce hook={h()} />}</Show>
      <FormError message={m.rotate.error?.message ?? m.check.error?.message ?? m.resetHostKey.error?.message} id="git-error" />
      <ErrorState error={status.error} title="Could not load the Git state" retry={() => void status.refetch()} />
      <Show
        when={status.data}
        fallback={
          <Show when={status.isLoading}>
            <Loading label="Loading Git state…" />
          </Show>
        }
      >
        {(s) => (
          <dl class="facts">
            <dt>Auto-deploy</dt>
            <dd>
              {mode() ?? "off"} · {s().autoDeploy.state}
              <Show when={s().autoDeploy.lastCheckedAt}>{(at) => <span class="muted">(checked {formatTime(at())})</span>}</Show>
            </dd>
            <Show when={s().autoDeploy.lastSeenCommit}>
              {(c) => (
                <>
                  <dt>Last seen</dt>
                  <dd class="mono">
                    {s().autoDeploy.lastSeenRef} @ {c().slice(0, 12)}
                  </dd>
                </>
              )}
            </Show>
            <Show when={s().autoDeploy.lastError}>
              {(e) => (
                <>
                  <dt>Last error</dt>
                  <dd class="field-error wrap" data-git-error>
                    {e()}
                  </dd>
                </>
              )}
            </Show>
            <dt>Webhook</dt>
            <dd>{s().webhook.configured ? `configured${s().webhook.rotatedAt ? ` ${formatTime(s().webhook.rotatedAt)}` : ""}` : "none"}</dd>
            <dt>SSH host key</dt>
            <dd class="mono wrap">
              <Show when={s().hostKey} fallback={<span class="muted">not pinned (the first SSH connection pins it)</span>}>
                {(k) => <For each={k().fingerprints}>{(f) => <div>{f}</div>}</For>}
              </Show>
            </dd>
          </dl>
        )}
      </Show>
      <Show when={props.canOperate}>
        <div class="row">
          <button
            type="button"
            class="btn"
            disabled={m.rotate.isPending}
            onClick={() => m.rotate.mutate(undefined, { onSuccess: (h) => setHook(h) })}
          >
            {status.data?.webhook.configured === true ? "Rotate webhook URL" : "Create webhook URL"}
          </button>
          <button type="button" class="btn" disabled={m.check.isPending} onClick={() => m.check.mutate()}>
            Check now
          </button>
          <Show when={status.data?.hostKey}>
            <button type="button" class="btn btn-ghost" disabled={m.resetHostKey.isPending} onClick={() => m.resetHostKey.mutate()}>
              Reset host key pin
            </button>
          </Show>
        </div>
        <Show when={m.check.data}>{(o) => <p class="muted" role="status">{o().status}: {o().message}</p>}</Show>
      </Show>
    </>
  )
}
