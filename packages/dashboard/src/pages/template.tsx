import { PageHeader } from '../components/ui.tsx';

// In progress this session: the page's owner replaces this with the real page.
export function TemplatePage() {
  return <PageHeader title="Template" />;
}
