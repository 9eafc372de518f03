import { PageHeader } from '../components/ui.tsx';

// In progress this session: the page's owner replaces this with the real page.
export function WebhooksPage() {
  return <PageHeader title="Webhooks" />;
}
