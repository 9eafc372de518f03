import { maskSecrets } from '../tools/custom/secret-mask.ts';

/**
 * `text` with each credential replaced by its name in brackets (`[GITHUB_TOKEN]`), as it is and
 * in the forms a service may echo it: URL-encoded, and inside HTTP Basic credentials (base64 of
 * `user:password`, where Twilio and Stripe put theirs). What every integration result and error
 * goes through before the model, an event or a log line sees it.
 */
export function maskCredentials(text: string, secrets: Readonly<Record<string, string>>): string {
  const forms: Record<string, string> = {};
  for (const [name, value] of Object.entries(secrets)) {
    forms[name] = value;
    const encoded = encodeURIComponent(value);
    if (encoded !== value) forms[`${name} `] = encoded;
  }
  let masked = maskSecrets(text, forms);
  // maskSecrets names a form by its key: the URL-encoded one's key has a trailing space.
  masked = masked.replace(/\[([A-Z0-9_]+) \]/g, '[$1]');
  return maskBasicCredentials(masked, secrets);
}

/** Base64 `user:password` pairs that contain a credential, masked whole. */
function maskBasicCredentials(text: string, secrets: Readonly<Record<string, string>>): string {
  return text.replace(/(Basic\s+)([A-Za-z0-9+/=]{8,})/gi, (all, prefix: string, b64: string) => {
    const decoded = Buffer.from(b64, 'base64').toString('utf8');
    const hit = Object.entries(secrets).find(([, v]) => v.length >= 4 && decoded.includes(v));
    return hit ? `${prefix}[${hit[0]}]` : all;
  });
}
