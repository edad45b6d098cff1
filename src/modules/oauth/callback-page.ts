// The page a popup shows after the callback when there is no return URL: it tells its opener and closes.
import { randomBytes } from 'node:crypto';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface PageResult {
  status: 'connected' | 'error';
  slug: string;
  integrationId?: string;
  code?: string;
}

/** Returns the HTML and the CSP that allows exactly its one inline script. */
export function renderCallbackPage(result: PageResult, allowedOrigins: readonly string[]): { html: string; csp: string } {
  const nonce = randomBytes(16).toString('base64');
  const message = {
    type: 'integration-hub:result',
    status: result.status,
    slug: result.slug,
    ...(result.integrationId ? { integrationId: result.integrationId } : {}),
    ...(result.code ? { code: result.code } : {}),
  };
  // JSON inside <script>: escape '<' so no value can close the tag.
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');
  const title = result.status === 'connected' ? 'Connected' : 'Connection failed';
  const text =
    result.status === 'connected'
      ? 'The integration is connected. You can close this window.'
      : `The integration could not be connected (${result.code ?? 'error'}). Close this window and try again.`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;margin:3rem;text-align:center">
<h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>
<script nonce="${nonce}">
(function () {
  var message = ${json(message)};
  var origins = ${json(allowedOrigins)};
  if (window.opener) {
    for (var i = 0; i < origins.length; i++) {
      try { window.opener.postMessage(message, origins[i]); } catch (e) {}
    }
    setTimeout(function () { window.close(); }, 50);
  }
})();
</script></body></html>`;
  return { html, csp: `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; frame-ancestors 'none'` };
}
