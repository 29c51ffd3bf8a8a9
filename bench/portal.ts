// The portal phase's browser side: Debian's Chromium, driven by playwright-core, loads real
// portal pages from a Berth and times how long each takes to show its data. Cold loads run
// in a fresh browser context (empty HTTP cache) with the session cookie added; each is
// followed by a warm load, a second navigation to the same URL in the same context, whose
// assets come from the cache.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type CDPSession, type Locator, type Page } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../test/helpers/browser.js';

/** Why the phase cannot run, or null when Chromium is installed. */
export function chromiumMissing(): string | null {
  return existsSync(chromiumPath) ? null : `needs Chromium at ${chromiumPath} (apt-get install chromium)`;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 60_000 });
}

/** The portal's session cookie. */
const sessionCookie = 'sid';

/** Signs in as the portal does (`POST /c/login`, a form) and returns the session cookie's value. */
export async function portalSignIn(base: string, principal: string, password: string): Promise<string> {
  const res = await fetch(`${base}/c/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ principal, password }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /c/login: HTTP ${res.status}: ${text.slice(0, 300)}`);
  for (const cookie of res.headers.getSetCookie()) {
    const m = new RegExp(`^${sessionCookie}=([^;]*)`).exec(cookie);
    if (m) return m[1];
  }
  throw new Error(`POST /c/login set no ${sessionCookie} cookie (set-cookie: ${res.headers.getSetCookie().join(' | ')})`);
}

/** One portal page to load. */
export interface PortalPage {
  /** How the log and the table name it. */
  name: string;
  /** Path and query, from the server's root. */
  path: string;
  /** What "shown" means: the first data row of this table, or this heading. */
  shown: { table: string } | { heading: string };
}

/** What "shown" means, in words. */
export function shownText(shown: PortalPage['shown']): string {
  return 'table' in shown ? `the first data row of the "${shown.table}" table` : `the "${shown.heading}" heading`;
}

/**
 * The element whose visibility means the data is on screen, as a locator by role and
 * accessible name. A table's data row is a row with a link in it: the header row holds sort
 * buttons, the 3 placeholder rows shown while the page is pending hold skeletons only.
 */
function shownLocator(page: Page, shown: PortalPage['shown']): Locator {
  if ('table' in shown)
    return page
      .getByRole('table', { name: shown.table, exact: true })
      .getByRole('row')
      .filter({ has: page.getByRole('link') })
      .first();
  return page.getByRole('heading', { name: shown.heading, exact: true }).first();
}

/**
 * The same condition in the DOM, checked inside the page on every animation frame (what the
 * timing waits on): its value is the page's performance.now() (ms since the navigation
 * started) at the first frame that has the data, with the page's time origin, as JSON; or
 * false. A string, not a function: tsx compiles with keepNames, whose helpers do not exist in
 * the page.
 */
function shownInPage(shown: PortalPage['shown']): string {
  const visible = 'function (el) { return !!el && el.getClientRects().length > 0; }';
  if ('table' in shown)
    return `(() => {
      const table = document.querySelector('table[aria-label=' + ${JSON.stringify(JSON.stringify(shown.table))} + ']');
      const row = table ? Array.from(table.querySelectorAll('tbody tr')).find((r) => r.querySelector('a[href]')) : undefined;
      return (${visible})(row) ? JSON.stringify({ now: performance.now(), origin: performance.timeOrigin }) : false;
    })()`;
  return `(() => {
    const heading = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6')).find((h) => (h.textContent || '').trim() === ${JSON.stringify(shown.heading)});
    return (${visible})(heading) ? JSON.stringify({ now: performance.now(), origin: performance.timeOrigin }) : false;
  })()`;
}

/** One measured load. */
export interface Load {
  /** Test process: performance.now() from before page.goto until the wait for the data returned. */
  ms: number;
  /** The page's own clock: ms from navigation start to the first animation frame with the data. */
  inPageMs: number;
  /** Navigation Timing of the document: HTML received, DOMContentLoaded, load (ms from navigation start). */
  responseEndMs: number;
  domContentLoadedMs: number;
  loadEventMs: number;
  /** Requests the page made until it was at rest (no request in flight for 250 ms). */
  requests: number;
  /** Of those, answered from the browser's cache (memory or disk) without going to the network. */
  fromCache: number;
  /** Σ CDP Network.loadingFinished encodedDataLength: response headers + bodies as received (compressed when they were). */
  bytes: number;
  /** Σ Content-Length of the responses that went to the network (their bodies as sent). */
  contentLength: number;
  /** Per resource type (Document, Script, Stylesheet, Fetch, …): requests and bytes. */
  byType: Map<string, { requests: number; bytes: number }>;
  /** Content-Encoding of the responses that came over the network: count per encoding ("identity" for none). */
  encodings: Map<string, number>;
  /** Paths of the API requests (Fetch/XHR), in order. */
  api: string[];
  /** The files under /assets/ that came over the network, with the bytes each took. */
  assets: Map<string, number>;
  /**
   * Every request: what (a file name, or an API path without its query), and when it was sent
   * and finished, in ms after the document's request was sent (CDP timestamps); c = from the cache.
   */
  timeline: Array<{ what: string; start: number; end: number; cached: boolean }>;
  /** Answers of 400 or more, in words. */
  failed: string[];
}

/** Nearest-rank percentile (p = 95: with 10 loads, the slowest). */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** How long one load may take to show its data, and to come to rest afterwards. */
const shownTimeoutMs = 15_000;
const restTimeoutMs = 5_000;
const restQuietMs = 250;

/**
 * Navigates `page` to `path` and waits until the data is shown, then until the page is at
 * rest; returns the timings and what went over the network.
 */
async function loadOnce(page: Page, cdp: CDPSession, base: string, target: PortalPage): Promise<Load> {
  const inFlight = new Set<string>();
  let lastActivity = performance.now();
  const types = new Map<string, string>();
  const cached = new Set<string>();
  const load: Load = {
    ms: NaN,
    inPageMs: NaN,
    responseEndMs: NaN,
    domContentLoadedMs: NaN,
    loadEventMs: NaN,
    requests: 0,
    fromCache: 0,
    bytes: 0,
    contentLength: 0,
    byType: new Map(),
    encodings: new Map(),
    api: [],
    assets: new Map(),
    timeline: [],
    failed: [],
  };
  const urls = new Map<string, string>();
  /** CDP timestamps (s) of the requests: sent, finished; the first request is the document's. */
  const sent = new Map<string, number>();
  const finished = new Map<string, number>();
  const typeOf = (id: string) => types.get(id) ?? 'Other';
  const add = (type: string, requests: number, bytes: number) => {
    const entry = load.byType.get(type) ?? { requests: 0, bytes: 0 };
    entry.requests += requests;
    entry.bytes += bytes;
    load.byType.set(type, entry);
  };
  const onRequest = (e: { requestId: string; request: { url: string; method: string }; type?: string; timestamp: number }) => {
    if (e.request.url.startsWith('data:')) return;
    if (!sent.has(e.requestId)) sent.set(e.requestId, e.timestamp);
    // A redirect reuses the request id; count the hop once.
    if (!types.has(e.requestId)) {
      load.requests++;
      add(e.type ?? 'Other', 1, 0);
    }
    types.set(e.requestId, e.type ?? 'Other');
    urls.set(e.requestId, e.request.url);
    inFlight.add(e.requestId);
    lastActivity = performance.now();
    if (e.type === 'Fetch' || e.type === 'XHR') {
      const url = new URL(e.request.url);
      if (url.origin === base) load.api.push(`${e.request.method} ${url.pathname}${url.search}`);
    }
  };
  const onServedFromCache = (e: { requestId: string }) => {
    cached.add(e.requestId);
  };
  const onResponse = (e: {
    requestId: string;
    response: { url: string; status: number; headers: Record<string, string>; fromDiskCache?: boolean; fromPrefetchCache?: boolean };
  }) => {
    const r = e.response;
    if (r.fromDiskCache || r.fromPrefetchCache) cached.add(e.requestId);
    if (r.status >= 400) load.failed.push(`${r.status} ${new URL(r.url).pathname}`);
    if (cached.has(e.requestId)) return;
    const header = (name: string) => Object.entries(r.headers).find(([k]) => k.toLowerCase() === name)?.[1];
    const encoding = header('content-encoding') ?? 'identity';
    load.encodings.set(encoding, (load.encodings.get(encoding) ?? 0) + 1);
    const length = Number(header('content-length'));
    if (Number.isFinite(length)) load.contentLength += length;
  };
  const onFinished = (e: { requestId: string; encodedDataLength: number; timestamp: number }) => {
    if (!types.has(e.requestId)) return;
    finished.set(e.requestId, e.timestamp);
    inFlight.delete(e.requestId);
    lastActivity = performance.now();
    load.bytes += e.encodedDataLength;
    add(typeOf(e.requestId), 0, e.encodedDataLength);
    const url = new URL(urls.get(e.requestId) ?? 'about:blank');
    if (url.origin === base && url.pathname.startsWith('/assets/') && !cached.has(e.requestId))
      load.assets.set(url.pathname.slice('/assets/'.length), e.encodedDataLength);
  };
  const onFailed = (e: { requestId: string; errorText: string; canceled?: boolean }) => {
    if (!types.has(e.requestId)) return;
    inFlight.delete(e.requestId);
    lastActivity = performance.now();
    if (!e.canceled) load.failed.push(`${typeOf(e.requestId)} failed: ${e.errorText}`);
  };
  cdp.on('Network.requestWillBeSent', onRequest);
  cdp.on('Network.requestServedFromCache', onServedFromCache);
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.loadingFinished', onFinished);
  cdp.on('Network.loadingFailed', onFailed);
  try {
    const started = Date.now();
    const t0 = performance.now();
    await page.goto(base + target.path, { waitUntil: 'commit', timeout: 30_000 });
    // The wait starts once the new document is committed, so that it never sees the old one. It
    // checks the page on every animation frame: Playwright's locator.waitFor polls at 0, 20, 50,
    // 100, 100 ms, then every 500 ms, too coarse to time a page by.
    const handle = await page.waitForFunction(shownInPage(target.shown), undefined, { polling: 'raf', timeout: shownTimeoutMs });
    const t1 = performance.now();
    // The same fact through the accessibility tree (roles and accessible names), untimed: a load
    // whose in-page check and locator disagree fails.
    await shownLocator(page, target.shown).waitFor({ state: 'visible', timeout: 5_000 });
    load.ms = t1 - t0;
    const shown = JSON.parse(String(await handle.jsonValue())) as { now: number; origin: number };
    await handle.dispose();
    // The page's clock starts at its navigation: a document older than this goto is not the one measured.
    if (!(shown.origin >= started - 50)) throw new Error(`the in-page check ran in a document from before the navigation`);
    load.inPageMs = shown.now;
    // At rest: nothing in flight for a while (bounded), so that the counts cover the whole load.
    const until = performance.now() + restTimeoutMs;
    while (performance.now() < until && (inFlight.size > 0 || performance.now() - lastActivity < restQuietMs))
      await new Promise((r) => setTimeout(r, 25));
    const nav = JSON.parse(
      await page.evaluate(
        `JSON.stringify((() => { const n = performance.getEntriesByType('navigation')[0]; return n ? { r: n.responseEnd, d: n.domContentLoadedEventEnd, l: n.loadEventEnd } : {}; })())`,
      ),
    ) as { r?: number; d?: number; l?: number };
    load.responseEndMs = nav.r ?? NaN;
    load.domContentLoadedMs = nav.d ?? NaN;
    load.loadEventMs = nav.l ?? NaN;
    load.fromCache = [...types.keys()].filter((id) => cached.has(id)).length;
    const zero = Math.min(...sent.values());
    for (const [id, start] of sent) {
      const url = new URL(urls.get(id) ?? 'about:blank');
      const what = url.pathname.startsWith('/assets/') ? url.pathname.slice('/assets/'.length) : url.pathname;
      const end = finished.get(id);
      load.timeline.push({
        what,
        start: (start - zero) * 1000,
        end: end === undefined ? NaN : (end - zero) * 1000,
        cached: cached.has(id),
      });
    }
    return load;
  } catch (err) {
    // Say what the page got, e.g. 404s for assets replaced by a rebuild of web/dist.
    const failed = [...new Set(load.failed)];
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `${message}${failed.length ? ` (answers of 400 or more: ${failed.slice(0, 5).join(', ')}${failed.length > 5 ? ', …' : ''})` : ''}`,
    );
  } finally {
    cdp.off('Network.requestWillBeSent', onRequest);
    cdp.off('Network.requestServedFromCache', onServedFromCache);
    cdp.off('Network.responseReceived', onResponse);
    cdp.off('Network.loadingFinished', onFinished);
    cdp.off('Network.loadingFailed', onFailed);
  }
}

export type Mode = 'cold' | 'warm';

export interface PortalOptions {
  browser: Browser;
  base: string;
  /** The session cookie's value (portalSignIn). */
  session: string;
  pages: PortalPage[];
  /** Measured cold loads per page; each is followed by one warm load. */
  loads: number;
  /** Epoch ms after which no new load starts. */
  deadline: number;
  log: (message: string) => void;
}

export interface PortalResult {
  page: PortalPage;
  loads: Record<Mode, Load[]>;
  /** Loads that failed (the data not shown in time, a navigation error), in words. */
  failures: string[];
  /** Why measuring this page stopped early, if it did. */
  stopped?: string;
}

/** A page is given up after this many failed loads. */
const maxFailures = 2;

/**
 * One unmeasured cold + warm load of every page first (Berth's first answers, Chromium's
 * first start of a renderer), then `loads` rounds; a round loads every page cold, in a new
 * context, and warm right after it in the same context. Stops at the deadline.
 */
export async function measurePortal(options: PortalOptions): Promise<PortalResult[]> {
  const { browser, base, session, pages } = options;
  const results: PortalResult[] = pages.map((page) => ({ page, loads: { cold: [], warm: [] }, failures: [] }));
  const pair = async (result: PortalResult, round: number) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    try {
      await context.addCookies([{ name: sessionCookie, value: session, url: base, httpOnly: true, sameSite: 'Lax' }]);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      for (const mode of ['cold', 'warm'] as const) {
        try {
          const load = await loadOnce(page, cdp, base, result.page);
          if (round > 0) result.loads[mode].push(load);
        } catch (err) {
          throw new Error(`${round === 0 ? 'warm-up' : `round ${round}`}, ${mode}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } finally {
      await context.close();
    }
  };
  const rounds = options.loads + 1;
  for (let round = 0; round < rounds; round++) {
    for (const result of results) {
      if (result.stopped) continue;
      if (Date.now() > options.deadline) {
        result.stopped = `phase deadline after ${result.loads.cold.length} of ${options.loads} rounds`;
        continue;
      }
      try {
        await pair(result, round);
      } catch (err) {
        const failure = err instanceof Error ? err.message : String(err);
        result.failures.push(failure);
        options.log(`${result.page.name}: a load failed (${failure})`);
        if (result.failures.length >= maxFailures) {
          result.stopped = `${maxFailures} failed loads`;
          options.log(`${result.page.name}: given up after ${maxFailures} failed loads`);
        }
      }
    }
  }
  return results;
}

export interface Stats {
  loads: number;
  medianMs: number;
  p95Ms: number;
  inPageMedianMs: number;
  inPageP95Ms: number;
  responseEndMedianMs: number;
  domContentLoadedMedianMs: number;
  loadEventMedianMs: number;
  requests: number;
  fromCache: number;
  bytes: number;
  contentLength: number;
}

/** Medians (and p95s of the times) of a list of loads; null when there are none. */
export function stats(loads: Load[]): Stats | null {
  if (loads.length === 0) return null;
  const of = (f: (l: Load) => number) => loads.map(f).filter((v) => Number.isFinite(v));
  const med = (f: (l: Load) => number) => {
    const v = of(f);
    return v.length ? median(v) : NaN;
  };
  return {
    loads: loads.length,
    medianMs: med((l) => l.ms),
    p95Ms: percentile(
      of((l) => l.ms),
      95,
    ),
    inPageMedianMs: med((l) => l.inPageMs),
    inPageP95Ms: percentile(
      of((l) => l.inPageMs),
      95,
    ),
    responseEndMedianMs: med((l) => l.responseEndMs),
    domContentLoadedMedianMs: med((l) => l.domContentLoadedMs),
    loadEventMedianMs: med((l) => l.loadEventMs),
    requests: med((l) => l.requests),
    fromCache: med((l) => l.fromCache),
    bytes: med((l) => l.bytes),
    contentLength: med((l) => l.contentLength),
  };
}
