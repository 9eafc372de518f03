import type { Template, TemplateBuild } from '@runtools/sdk/api';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { type FormEvent, useEffect, useState } from 'react';
import { Panel } from '../components/key-fields.tsx';
import { BuildMonitor } from '../components/template-build-log.tsx';
import {
  draftErrors,
  draftOf,
  emptyDraft,
  type SpecDraft,
  specOf,
} from '../components/template-spec-draft.ts';
import { TemplateSpecForm } from '../components/template-spec-form.tsx';
import { TemplateSpecPreview } from '../components/template-spec-preview.tsx';
import { Button, ErrorNotice, PageHeader } from '../components/ui.tsx';
import { useClient, useSession } from '../session.tsx';

const linkClass = 'text-sky-700 underline dark:text-sky-400';

/**
 * The Template Builder: a spec put together field by field, shown as the JSON it submits and as
 * the SDK call that does the same, then built with its progress and log followed live.
 * `?from=SLUG` starts from a spec template's current definition.
 */
export function TemplateBuilderPage() {
  const rt = useClient();
  const { can } = useSession();
  const queries = useQueryClient();
  const { from } = useSearch({ strict: false }) as { from?: string };
  const [draft, setDraft] = useState<SpecDraft>(emptyDraft);
  const [submitted, setSubmitted] = useState(false);
  const [started, setStarted] = useState<Template | null>(null);
  const [ended, setEnded] = useState<TemplateBuild | null>(null);

  // The templates there are: a slug of a system one is refused, of a custom one replaced.
  const templates = useQuery({
    queryKey: ['templates', 'slugs'],
    queryFn: async () => (await rt.templates.list({ limit: 100 })).data,
  });
  const source = useQuery({
    queryKey: ['template', from],
    queryFn: () => rt.templates.get(from as string),
    enabled: from !== undefined,
  });
  useEffect(() => {
    if (source.data?.spec) setDraft(draftOf(source.data.slug, source.data.spec));
  }, [source.data]);

  const spec = specOf(draft);
  const errors = draftErrors(draft);
  if (spec.slug === '') errors.slug = 'Name the template.';
  const existing = templates.data?.find((t) => t.slug === spec.slug);
  if (existing?.kind === 'system') {
    errors.slug = `"${spec.slug}" is a system template: choose another name.`;
  }
  const valid = Object.keys(errors).length === 0;

  const build = useMutation({
    mutationFn: () => rt.templates.create(spec),
    onSuccess: async (template) => {
      setStarted(template);
      setEnded(null);
      await queries.invalidateQueries({ queryKey: ['templates'] });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (valid) build.mutate();
  };

  const onEnd = (b: TemplateBuild) => {
    setEnded(b);
    void queries.invalidateQueries({ queryKey: ['templates'] });
    void queries.invalidateQueries({ queryKey: ['template', b.template] });
    void queries.invalidateQueries({ queryKey: ['template-builds', b.template] });
  };

  return (
    <>
      <Link to={'/templates' as string} className={`text-sm ${linkClass}`}>
        ← Templates
      </Link>
      <PageHeader title="Template Builder" />
      {!can('deploy') ? (
        <div className="mb-4">
          <ErrorNotice
            error={Object.assign(new Error('Building a template needs the deploy scope.'), {
              code: 'insufficient_scope',
              details: { requiredScopes: ['deploy'] },
            })}
          />
        </div>
      ) : null}
      {source.error ? <ErrorNotice error={source.error} /> : null}
      <div className="grid gap-6 xl:grid-cols-2">
        <form onSubmit={submit} noValidate aria-label="Template spec">
          <Panel title="Spec">
            <TemplateSpecForm
              draft={draft}
              onChange={setDraft}
              errors={errors}
              showErrors={submitted}
            />
            {existing && existing.kind !== 'system' ? (
              <p className="mt-4 text-sm">
                <strong>Note:</strong> a template named <code>{existing.slug}</code> exists (version{' '}
                <code>{existing.version ?? 'none yet'}</code>): building replaces its definition;
                sandboxes running on its current version keep it.
              </p>
            ) : null}
            {submitted && !valid ? (
              <p role="alert" className="mt-4 text-sm text-red-700 dark:text-red-400">
                <span aria-hidden="true">⚠ </span>Fix the fields marked above first.
              </p>
            ) : null}
            {build.error ? (
              <div className="mt-4">
                <ErrorNotice error={build.error} />
              </div>
            ) : null}
            <div className="mt-5">
              <Button type="submit" variant="primary" disabled={build.isPending || !can('deploy')}>
                {build.isPending ? 'Checking the packages…' : 'Build template'}
              </Button>
            </div>
          </Panel>
        </form>
        <div>
          <Panel title="What it submits">
            <TemplateSpecPreview spec={spec} />
          </Panel>
          {started ? (
            <Panel title={`Build of ${started.slug}`}>
              {started.build ? (
                <>
                  <BuildMonitor
                    key={started.build.id}
                    slug={started.slug}
                    buildId={started.build.id}
                    onEnd={onEnd}
                  />
                  {ended?.status === 'ready' ? (
                    <p role="status" className="mt-3 text-sm">
                      <strong>{started.slug}</strong> is ready: create sandboxes and deployments
                      with <code>template: '{started.slug}'</code>.{' '}
                      <Link to={`/templates/${started.slug}` as string} className={linkClass}>
                        Open the template
                      </Link>
                    </p>
                  ) : null}
                </>
              ) : (
                <p className="text-sm">
                  Stored, not built: this server has no sandbox engine, so the first server that
                  creates a sandbox from it builds it.{' '}
                  <Link to={`/templates/${started.slug}` as string} className={linkClass}>
                    Open the template
                  </Link>
                </p>
              )}
            </Panel>
          ) : null}
        </div>
      </div>
    </>
  );
}
