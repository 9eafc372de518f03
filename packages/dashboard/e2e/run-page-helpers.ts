import type { Locator, Page } from 'playwright-core';

/**
 * What a run view shows of its events: the count it says it applied, and the sum of the events
 * each rendered block stands for (`data-events`). Both equal the run's stored events when every
 * event is shown once.
 */
export async function renderedEvents(page: Page, scope?: string) {
  const list = (scope ? page.getByRole('region', { name: scope }) : page).getByRole('list', {
    name: 'Run events',
  });
  return list.evaluate((ol) => ({
    count: Number(ol.getAttribute('data-event-count')),
    blocks: [...ol.querySelectorAll('[data-events]')].reduce(
      (sum, el) => sum + Number(el.getAttribute('data-events')),
      0,
    ),
  }));
}

/** Waits until the run view's status badge says `status`. */
export async function waitForStatus(page: Page, status: string): Promise<void> {
  await page
    .getByRole('status', { name: 'Run status' })
    .filter({ has: page.getByText(status, { exact: true }) })
    .waitFor();
}

/** A promise and the function that settles it: holds a scripted model turn until released. */
export function holdOpen(): { hold: Promise<void>; release: () => void } {
  let release!: () => void;
  const hold = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { hold, release };
}

/** An element's text (its DOM text content, not laid out). */
export async function text(locator: Locator): Promise<string> {
  return (await locator.textContent()) ?? '';
}
