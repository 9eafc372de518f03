import { PageHeader } from '../components/ui.tsx';

// In progress this session: the page's owner replaces this with the real page.
export function TemplateBuilderPage() {
  return <PageHeader title="Template Builder" />;
}
