import {
  type CreatedWebhook,
  type WebhookEventType,
  type WebhookInput,
  webhookEventTypes,
  webhookInputSchema,
} from '@runtools/sdk/api';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useClient } from '../session.tsx';
import { useDeploymentChoices } from './key-deployment-choices.ts';
import { Checkbox, inputClass, Panel, TextField } from './key-fields.tsx';
import { Button, ErrorNotice } from './ui.tsx';

const eventDescriptions: Record<WebhookEventType, string> = {
  'run.started': 'a run started',
  'run.completed': 'a run ended with its output',
  'run.failed': 'a run ended with an error',
  'run.paused': 'a run was paused',
  'run.waiting': 'a run waits for a person to approve a tool call',
  'run.resumed': 'a paused run was resumed',
  'run.cancelled': 'a run was cancelled',
};

/**
 * Subscribes a URL to run events, of every deployment or one. The signing secret goes to
 * `onCreated`, the one time the API returns it.
 */
export function WebhookCreateForm({ onCreated }: { onCreated: (webhook: CreatedWebhook) => void }) {
  const rt = useClient();
  const queries = useQueryClient();
  const selectId = useId();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>(['run.completed', 'run.failed']);
  const [deploymentId, setDeploymentId] = useState('');
  const [submitted, setSubmitted] = useState(false);

  const deployments = useDeploymentChoices();

  const input: WebhookInput = {
    url: url.trim(),
    events,
    ...(deploymentId ? { deploymentId } : {}),
  };
  const parsed = webhookInputSchema.safeParse(input);
  const issue = (field: string) =>
    parsed.success ? undefined : parsed.error.issues.find((i) => i.path[0] === field)?.message;

  const create = useMutation({
    mutationFn: (body: WebhookInput) => rt.webhooks.create(body),
    onSuccess: async (webhook) => {
      setUrl('');
      setSubmitted(false);
      onCreated(webhook);
      await queries.invalidateQueries({ queryKey: ['webhooks'] });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (parsed.success) create.mutate(parsed.data);
  };

  return (
    <Panel title="Add a webhook">
      <form onSubmit={submit} noValidate className="space-y-4">
        <TextField
          label="URL"
          type="url"
          value={url}
          onChange={setUrl}
          placeholder="https://example.com/runtools-events"
          hint="RunTools POSTs each event here as JSON, signed (Standard Webhooks), and retries until it answers 2xx."
          error={submitted ? issue('url') : undefined}
        />
        <fieldset>
          <legend className="text-sm font-medium">Events</legend>
          <div className="mt-2 grid gap-2 sm:grid-cols-3">
            {webhookEventTypes.map((type) => (
              <Checkbox
                key={type}
                label={type}
                description={eventDescriptions[type]}
                checked={events.includes(type)}
                onChange={(on) =>
                  setEvents(
                    on
                      ? webhookEventTypes.filter((t) => t === type || events.includes(t))
                      : events.filter((t) => t !== type),
                  )
                }
              />
            ))}
          </div>
          {submitted && events.length === 0 ? (
            <p className="mt-1 text-sm text-red-700 dark:text-red-400">
              <span aria-hidden="true">⚠ </span>Choose at least one event.
            </p>
          ) : null}
        </fieldset>
        <div>
          <label htmlFor={selectId} className="block text-sm font-medium">
            Deployment
          </label>
          <select
            id={selectId}
            value={deploymentId}
            onChange={(e) => setDeploymentId(e.target.value)}
            className={`mt-1 ${inputClass} sm:max-w-sm`}
          >
            <option value="">Every deployment</option>
            {(deployments.data ?? []).map((d) => (
              <option key={d.id} value={d.id}>
                {d.apiSlug}
              </option>
            ))}
          </select>
        </div>
        {create.error ? <ErrorNotice error={create.error} /> : null}
        <Button type="submit" variant="primary" disabled={create.isPending}>
          {create.isPending ? 'Adding…' : 'Add webhook'}
        </Button>
      </form>
    </Panel>
  );
}
