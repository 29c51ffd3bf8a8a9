// The cost of enterprise sign-in, Berth only, each auth mode on a fresh embedded Berth of its own
// (auth_mode can only change while admin is the only user), the three running side by side so that
// rounds can rotate between them; Berth CPU per request (/proc) beside each rate:
//
//   1. The token service (GET /service/token?service=harbor-registry&scope=repository:<p>/<r>:pull,push
//      with Basic credentials): a fixed number of requests by N concurrent clients with one user's
//      credentials (steady: verified credentials are remembered for 10 s, src/auth/authenticator.ts),
//      for a database user (db_auth, argon2), an LDAP user (ldap_auth, a real slapd: search + bind
//      + group sync) and an OIDC user's CLI secret (oidc_auth, a real OpenID provider; the secret
//      read from GET /api/v2.0/users/current with the session cookie of a sign-in through the
//      provider). Cold: each of a few distinct users' first token request, and the same users'
//      first request again once their remembered credentials have expired.
//   2. Registry reads through a group: manifest HEAD by tag with a bearer token (and with Basic
//      credentials, where the role is looked up per request) for an LDAP user whose developer role
//      comes only through an LDAP group, against one who is a direct member; and each one's token
//      requests (where the token service looks up the role).
//   3. Settings: none measured; they are read from memory (Settings.current()).
//
// Everything listens on 127.0.0.1. The LDAP parts are skipped, with a message, when slapd is missing.
//
//   npm run bench -- --only=signin --backends=embedded [--quick]
//   node --import tsx bench/signin.ts [--quick]
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { signInThroughProvider, startOidcProvider, type TestOidcProvider } from '../test/helpers/oidc-provider.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../test/helpers/slapd.js';
import { Client, pool } from './http.js';
import { pushSmall } from './images.js';
import { benchPassword, cpuSeconds, onCleanup, startBerth, type Server } from './servers.js';

export interface SigninSettings {
  /** Concurrent clients of each rate measurement. */
  clients: number;
  /** Requests of each rate measurement (after an untimed warm-up of a fifth as many). */
  requests: number;
  /** Distinct users whose first token request is timed, per mode. */
  coldUsers: number;
  /** Steady token-rate runs per mode (the median is reported), and rounds of each group-vs-direct comparison (alternating which goes first). */
  rounds: number;
}

export type Mode = 'db' | 'ldap' | 'oidc';
export const modeTitle: Record<Mode, string> = {
  db: 'database user (db_auth)',
  ldap: 'LDAP user (ldap_auth)',
  oidc: 'OIDC CLI secret (oidc_auth)',
};

export interface Rate {
  requests: number;
  clients: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The Berth's CPU time (user + system, /proc) over the timed requests, per request; null when /proc does not say. */
  cpuMsPerRequest: number | null;
}

export interface ModeResult {
  /** One per round; the table shows the round with the median rate. */
  steady: Rate[];
  /** Each distinct user's first token request, ms. */
  firstMs: number[];
  /** The Berth's CPU ms per first request (over all of them). */
  firstCpuMs: number | null;
  /** The same users' first token request once remembered credentials expired, ms. */
  expiredMs: number[];
  expiredCpuMs: number | null;
  /** OIDC only: each user's sign-in through the provider (GET /c/oidc/login to the callback's 302), ms. */
  providerSignInMs?: number[];
  /** 1-minute load average when the mode started and when it ended. */
  load: [number, number];
}

export interface GroupReads {
  /** Per round: [direct, group] rates. */
  bearerHead: Array<[Rate, Rate]>;
  basicHead: Array<[Rate, Rate]>;
  token: Array<[Rate, Rate]>;
  load: [number, number];
}

export interface SigninResult {
  modes: Partial<Record<Mode, ModeResult>>;
  groups: GroupReads | null;
  skipped: string[];
  uptimeBefore: string;
  uptimeAfter: string;
}

const json = { 'content-type': 'application/json' };
const project = 'signin';
const repository = `${project}/app`;
const tokenPath = `/service/token?service=harbor-registry&scope=${encodeURIComponent(`repository:${repository}:pull,push`)}`;
const pullTokenPath = `/service/token?service=harbor-registry&scope=${encodeURIComponent(`repository:${repository}:pull`)}`;
const manifestPath = `/v2/${repository}/manifests/latest`;
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function uptime(): string {
  const r = spawnSync('uptime', [], { encoding: 'utf8' });
  return r.status === 0
    ? r.stdout.trim()
    : `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `requests` requests (each answering 200) by `clients` concurrent loops on keep-alive connections. */
async function rate(
  client: Client,
  pid: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  requests: number,
  clients: number,
  deadline: number,
): Promise<Rate> {
  const once = async () => {
    const t0 = performance.now();
    await client.expect([200], method, path, { headers });
    return performance.now() - t0;
  };
  // A fresh Berth's first requests run before V8 has optimised its code: a warm-up of a fifth of the run, not timed.
  await pool(Math.max(clients * 2, Math.floor(requests / 5)), clients, deadline, async () => void (await once()));
  const latencies: number[] = [];
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const { done, timedOut } = await pool(requests, clients, deadline, async () => void latencies.push(await once()));
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(pid);
  if (timedOut) throw new Error(`${method} ${path}: the sign-in phase ran past its deadline after ${done} of ${requests} requests`);
  latencies.sort((a, b) => a - b);
  return {
    requests: done,
    clients,
    seconds,
    perSecond: done / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    cpuMsPerRequest: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) * 1000) / done,
  };
}

/**
 * One token request (scope pull,push, or pull alone with `pullOnly`); returns ms taken and the token,
 * whose access is checked to hold what `wanted` names.
 */
async function timedToken(
  client: Client,
  authorization: string,
  wanted: string[] = ['pull', 'push'],
  pullOnly = false,
): Promise<{ ms: number; token: string }> {
  const t0 = performance.now();
  const res = await client.expect([200], 'GET', pullOnly ? pullTokenPath : tokenPath, { headers: { authorization } });
  const ms = performance.now() - t0;
  const token = String(JSON.parse(res.body.toString('utf8')).token);
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {
    access?: Array<{ name: string; actions: string[] }>;
  };
  const actions = claims.access?.find((a) => a.name === repository)?.actions ?? [];
  if (!wanted.every((a) => actions.includes(a)))
    throw new Error(`the token grants [${actions.join(',')}] on ${repository}, not ${wanted.join(',')}`);
  return { ms, token };
}

async function pushImage(client: Client): Promise<void> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.alloc(32 * 1024, 7);
  const c = await pushSmall(client, repository, config);
  const l = await pushSmall(client, repository, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: c.digest, size: c.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size }],
  });
  await client.expect([201], 'PUT', `/v2/${repository}/manifests/latest`, { headers: { 'content-type': ociManifest }, body: manifest });
}

async function setup(client: Client, settings: Record<string, unknown> | null): Promise<void> {
  if (settings) await client.expect([200], 'PUT', '/api/v2.0/configurations', { headers: json, body: JSON.stringify(settings) });
  await client.expect([201], 'POST', '/api/v2.0/projects', {
    headers: json,
    body: JSON.stringify({ project_name: project, metadata: { public: 'false' } }),
  });
  await pushImage(client);
}

async function addMember(client: Client, member: Record<string, unknown>): Promise<void> {
  await client.expect([201], 'POST', `/api/v2.0/projects/${project}/members`, {
    headers: json,
    body: JSON.stringify({ role_id: 2, ...member }),
  });
}

interface User {
  username: string;
  password: string;
}

export interface StartOptions {
  entry?: string;
  nodeArgs?: string[];
  configFile?: string;
}

/** One auth mode's Berth, set up: a private project with one image, its cold users (members), and what to stop. */
interface Env {
  mode: Mode;
  server: Server;
  admin: Client;
  /** Token requests of the measurements (no credentials of its own). */
  client: Client;
  users: User[];
  /** LDAP: users come into being at their first sign-in, and become members right after it. */
  onboardedBySignIn: boolean;
  providerSignInMs?: number[];
  slapd?: Slapd;
  stop: Array<() => Promise<void>>;
}

async function startEnv(mode: Mode, start: StartOptions, envs: Env[]): Promise<Env> {
  const server = await startBerth({ ...start, name: `berth-signin-${mode}` });
  const env: Env = {
    mode,
    server,
    admin: new Client(server.base, basic('admin', benchPassword)),
    client: new Client(server.base),
    users: [],
    onboardedBySignIn: false,
    stop: [],
  };
  env.stop.push(async () => {
    env.admin.close();
    env.client.close();
    await server.stop();
  });
  envs.push(env);
  return env;
}

async function setupDb(env: Env, s: SigninSettings): Promise<void> {
  await setup(env.admin, null);
  for (let i = 0; i < s.coldUsers; i++) {
    const user = { username: `dbuser${i}`, password: `Db-user-${i}-Passw0rd` };
    await env.admin.expect([201], 'POST', '/api/v2.0/users', {
      headers: json,
      body: JSON.stringify({ ...user, email: `${user.username}@example.org`, realname: user.username }),
    });
    await addMember(env.admin, { member_user: { username: user.username } });
    env.users.push(user);
  }
}

async function setupOidc(env: Env, s: SigninSettings): Promise<void> {
  const accounts = Array.from({ length: s.coldUsers }, (_, i) => ({
    id: `oidc-sub-${i}`,
    preferred_username: `oidcuser${i}`,
    email: `oidcuser${i}@example.org`,
    name: `OIDC user ${i}`,
    groups: ['bench'],
  }));
  // Access tokens that outlive the run: a CLI secret whose stored token expired would also refresh it at the provider.
  const provider: TestOidcProvider = await startOidcProvider({ berthUrls: [env.server.base], accounts, accessTokenTtl: 3600 });
  env.stop.unshift(() => provider.stop());
  await setup(env.admin, provider.settings());
  env.providerSignInMs = [];
  for (const account of accounts) {
    const t0 = performance.now();
    const signIn = await signInThroughProvider(env.server.base, account.id);
    env.providerSignInMs.push(performance.now() - t0);
    const sid = signIn.cookies.get('sid');
    if (signIn.status !== 302 || !sid) throw new Error(`OIDC sign-in of ${account.id}: ${signIn.status} ${signIn.body.slice(0, 300)}`);
    const me = await env.client.expect([200], 'GET', '/api/v2.0/users/current', { headers: { cookie: `sid=${sid}` } });
    const body = JSON.parse(me.body.toString('utf8')) as { username: string; oidc_user_meta?: { secret?: string } };
    const secret = body.oidc_user_meta?.secret;
    if (!secret) throw new Error(`GET /users/current for ${account.id} has no oidc_user_meta.secret`);
    await addMember(env.admin, { member_user: { username: body.username } });
    env.users.push({ username: body.username, password: secret });
  }
}

const viaGroup = { uid: 'grpuser', password: 'grp-user-pw', cn: 'Group Member', sn: 'Member', mail: 'grpuser@example.org' };
const direct = { uid: 'directuser', password: 'direct-user-pw', cn: 'Direct Member', sn: 'Member', mail: 'directuser@example.org' };

async function setupLdap(env: Env, s: SigninSettings): Promise<void> {
  const coldUsers = Array.from({ length: s.coldUsers }, (_, i) => ({
    uid: `ldapuser${i}`,
    password: `ldap-user-${i}-pw`,
    cn: `LDAP user ${i}`,
    sn: 'User',
    mail: `ldapuser${i}@example.org`,
  }));
  // The bench's watchdog and signal handlers stop only what servers.ts tracks: have them kill this slapd too,
  // looked for when they run (it may be starting then).
  const forget = onCleanup(() => {
    for (const pid of childrenNamed('slapd')) {
      // slapd runs in its temp directory (startSlapd): remove it too.
      const dir = readlinkSync(`/proc/${pid}/cwd`);
      process.kill(pid, 'SIGKILL');
      if (path.basename(dir).startsWith('berth-slapd-')) rmSync(dir, { recursive: true, force: true });
    }
  }, 'slapd (a child of the bench) and its directory');
  const slapd = await startSlapd({ extraUsers: [...coldUsers, viaGroup, direct] });
  env.slapd = slapd;
  env.stop.push(async () => {
    await slapd.stop();
    forget();
  });
  // The group member's developer role comes through `developers` only; the direct member has no group.
  await slapd.addMember(slapd.groups.developers!.dn, slapd.users.grpuser!.dn);
  await setup(env.admin, { auth_mode: 'ldap_auth', ...ldapSettings(slapd) });
  env.users = coldUsers.map((u) => ({ username: u.uid, password: u.password }));
  env.onboardedBySignIn = true;
}

/** Pids of this process's children whose command is `name` (from /proc). */
function childrenNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === name && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Each cold user's token request in turn: ms each, and the Berth's CPU ms per request (/proc ticks of 10 ms over all of them). */
async function coldRequests(env: Env, wanted?: string[]): Promise<{ ms: number[]; cpuMs: number | null }> {
  const cpu0 = cpuSeconds(env.server.pid);
  const ms: number[] = [];
  for (const u of env.users) ms.push((await timedToken(env.client, basic(u.username, u.password), wanted)).ms);
  const cpu1 = cpuSeconds(env.server.pid);
  return { ms, cpuMs: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) * 1000) / env.users.length };
}

async function measureGroupReads(env: Env, s: SigninSettings, deadline: number, log: (line: string) => void): Promise<GroupReads> {
  const load0 = os.loadavg()[0];
  const { admin, client, server } = env;
  const slapd = env.slapd!;
  const groupAuth = basic(viaGroup.uid, viaGroup.password);
  const directAuth = basic(direct.uid, direct.password);
  // Sign both in (onboarding; the group member's LDAP groups recorded), then give the roles.
  for (const auth of [groupAuth, directAuth])
    await client.expect([200], 'GET', '/api/v2.0/users/current', { headers: { authorization: auth } });
  await addMember(admin, { member_group: { group_type: 1, ldap_group_dn: slapd.groups.developers!.dn } });
  await addMember(admin, { member_user: { username: direct.uid } });
  const groupToken = (await timedToken(client, groupAuth, ['pull'], true)).token;
  const directToken = (await timedToken(client, directAuth, ['pull'], true)).token;
  const result: GroupReads = { bearerHead: [], basicHead: [], token: [], load: [load0, 0] };
  const headers = (authorization: string) => ({ authorization, accept: ociManifest });
  const pair = async (round: number, measure: (who: 'direct' | 'group') => Promise<Rate>): Promise<[Rate, Rate]> => {
    const rates: Partial<Record<'direct' | 'group', Rate>> = {};
    for (const who of round % 2 === 0 ? (['direct', 'group'] as const) : (['group', 'direct'] as const)) rates[who] = await measure(who);
    return [rates.direct!, rates.group!];
  };
  const line = (what: string, [d, g]: [Rate, Rate]) =>
    log(
      `${what}: direct ${d.perSecond.toFixed(0)}/s (p50 ${d.p50Ms.toFixed(2)} ms, ${cpuText(d)}), through the group ${g.perSecond.toFixed(0)}/s ` +
        `(p50 ${g.p50Ms.toFixed(2)} ms, ${cpuText(g)}): group/direct ${(g.perSecond / d.perSecond).toFixed(2)}`,
    );
  const run = (method: string, path: string, h: Record<string, string>) =>
    rate(client, server.pid, method, path, h, s.requests, s.clients, deadline);
  for (let round = 0; round < s.rounds; round++) {
    const bearer = await pair(round, (who) => run('HEAD', manifestPath, headers(`Bearer ${who === 'group' ? groupToken : directToken}`)));
    line(`round ${round + 1} manifest HEAD, bearer`, bearer);
    result.bearerHead.push(bearer);
    const basicHead = await pair(round, (who) => run('HEAD', manifestPath, headers(who === 'group' ? groupAuth : directAuth)));
    line(`round ${round + 1} manifest HEAD, Basic`, basicHead);
    result.basicHead.push(basicHead);
    const token = await pair(round, (who) => run('GET', pullTokenPath, { authorization: who === 'group' ? groupAuth : directAuth }));
    line(`round ${round + 1} token requests`, token);
    result.token.push(token);
  }
  result.load[1] = os.loadavg()[0];
  return result;
}

const cpuText = (r: Rate) => (r.cpuMsPerRequest === null ? 'Berth CPU n/a' : `Berth CPU ${r.cpuMsPerRequest.toFixed(3)} ms/request`);

/**
 * Starts an embedded Berth per auth mode (db, OIDC with its provider, LDAP with slapd) and sets
 * each up; then, on all at once: each cold user's first token request, the same again after the
 * remembered credentials expired, and the steady rate in rounds that rotate the order of the
 * modes (so that the machine's other load falls on each alike); then the reads through a group
 * on the LDAP Berth.
 */
export async function measureSignin(
  s: SigninSettings,
  start: StartOptions,
  deadline: number,
  log: (line: string) => void = console.log,
): Promise<SigninResult> {
  const result: SigninResult = { modes: {}, groups: null, skipped: [], uptimeBefore: uptime(), uptimeAfter: '' };
  log(`uptime: ${result.uptimeBefore}`);
  const envs: Env[] = [];
  try {
    await setupDb(await startEnv('db', start, envs), s);
    await setupOidc(await startEnv('oidc', start, envs), s);
    log(`OIDC: signed in ${s.coldUsers} users through the provider, median ${median(envs[1].providerSignInMs!).toFixed(1)} ms each`);
    const ldapSkip = slapdSkip();
    if (ldapSkip) {
      const why = `LDAP sign-in and the reads through a group not measured: ${ldapSkip}`;
      log(why);
      result.skipped.push(why);
    } else {
      await setupLdap(await startEnv('ldap', start, envs), s);
    }
    log(`Berths: ${envs.map((e) => `${e.mode} ${e.server.base} (pid ${e.server.pid})`).join(', ')}`);
    const partial = new Map<Mode, Omit<ModeResult, 'steady' | 'load'> & { steady: Rate[]; load0: number }>();
    for (const env of envs) {
      const load0 = os.loadavg()[0];
      const first = await coldRequests(env, env.onboardedBySignIn ? [] : undefined);
      if (env.onboardedBySignIn) for (const u of env.users) await addMember(env.admin, { member_user: { username: u.username } });
      log(
        `${env.mode.padEnd(4)} first token request of ${env.users.length} users: ${first.ms.map((m) => m.toFixed(1)).join(', ')} ms; ` +
          `Berth CPU ${first.cpuMs?.toFixed(1) ?? 'n/a'} ms each`,
      );
      partial.set(env.mode, {
        firstMs: first.ms,
        firstCpuMs: first.cpuMs,
        expiredMs: [],
        expiredCpuMs: null,
        providerSignInMs: env.providerSignInMs,
        steady: [],
        load0,
      });
    }
    // Remembered credentials last 10 s from their check: wait them out (for every mode at once).
    await sleep(10_500);
    for (const env of envs) {
      const again = await coldRequests(env);
      const p = partial.get(env.mode)!;
      p.expiredMs = again.ms;
      p.expiredCpuMs = again.cpuMs;
      log(
        `${env.mode.padEnd(4)} again after 10.5 s (remembered credentials expired): ${again.ms.map((m) => m.toFixed(1)).join(', ')} ms; ` +
          `Berth CPU ${again.cpuMs?.toFixed(1) ?? 'n/a'} ms each`,
      );
    }
    for (let round = 0; round < s.rounds; round++) {
      for (let k = 0; k < envs.length; k++) {
        const env = envs[(round + k) % envs.length];
        const u = env.users[0];
        const r = await rate(
          env.client,
          env.server.pid,
          'GET',
          tokenPath,
          { authorization: basic(u.username, u.password) },
          s.requests,
          s.clients,
          deadline,
        );
        partial.get(env.mode)!.steady.push(r);
        log(
          `${env.mode.padEnd(4)} steady ${round + 1}: ${r.requests} token requests by ${r.clients} clients: ${r.perSecond.toFixed(0)}/s, ` +
            `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${cpuText(r)}`,
        );
      }
    }
    for (const [mode, p] of partial) {
      const { load0, ...rest } = p;
      result.modes[mode] = { ...rest, load: [load0, os.loadavg()[0]] };
    }
    const ldap = envs.find((e) => e.mode === 'ldap');
    if (ldap) result.groups = await measureGroupReads(ldap, s, deadline, (l) => log(`ldap ${l}`));
  } finally {
    for (const env of envs.reverse()) for (const stop of env.stop) await stop();
  }
  result.uptimeAfter = uptime();
  log(`uptime: ${result.uptimeAfter}`);
  return result;
}

// Tables ----------------------------------------------------------------------------------------

function markdown(header: string[], body: string[][]): string {
  return [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : 'n/a');
const perSecond = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');

/** The round with the median rate (the lower middle one of an even count). */
export function medianRound(rates: Rate[]): Rate {
  const sorted = [...rates].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

export function signinTables(r: SigninResult): string {
  const db = r.modes.db;
  const dbSteady = db ? medianRound(db.steady) : undefined;
  const ratio = (a: number | null | undefined, b: number | null | undefined) =>
    a === null || a === undefined || b === null || b === undefined || !(b > 0) ? 'n/a' : (a / b).toFixed(2);
  const cpu = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
  const steadyRows = (['db', 'ldap', 'oidc'] as const).map((m) => {
    const x = r.modes[m];
    if (!x) return [modeTitle[m], 'not measured', '', '', '', '', ''];
    const steady = medianRound(x.steady);
    const cpuMs = median(x.steady.map((t) => t.cpuMsPerRequest ?? NaN));
    const dbCpu = db ? median(db.steady.map((t) => t.cpuMsPerRequest ?? NaN)) : null;
    return [
      modeTitle[m],
      perSecond(steady.perSecond),
      ratio(steady.perSecond, dbSteady?.perSecond),
      `${ms(steady.p50Ms)} / ${ms(steady.p99Ms)}`,
      cpu(cpuMs),
      ratio(cpuMs, dbCpu),
      `${x.load[0].toFixed(1)}–${x.load[1].toFixed(1)}`,
    ];
  });
  const coldRows = (['db', 'ldap', 'oidc'] as const).map((m) => {
    const x = r.modes[m];
    if (!x) return [modeTitle[m], 'not measured', '', '', '', '', ''];
    return [
      modeTitle[m],
      ms(median(x.firstMs)),
      cpu(x.firstCpuMs, 1),
      ms(median(x.expiredMs)),
      ratio(median(x.expiredMs), db ? median(db.expiredMs) : null),
      cpu(x.expiredCpuMs, 1),
      ratio(x.expiredCpuMs, db?.expiredCpuMs),
    ];
  });
  const parts = [
    `Token service, steady (${dbSteady ? `${dbSteady.requests} requests by ${dbSteady.clients} clients with one user's credentials after an untimed warm-up; ` : ''}` +
      `the median of ${db?.steady.length ?? 0} runs, rounds rotating the order of the modes; Berth CPU = the Berth process's user + system time per request):\n`,
    markdown(['user', 'tokens/s', 'rate / db', 'p50 / p99 ms', 'Berth CPU ms/request', 'CPU / db', 'load (1 min)'], steadyRows),
    `\nToken service, cold (median of ${db?.firstMs.length ?? 0} distinct users' first request, one at a time; after expiry = the same ` +
      `users again 10.5 s later, when their remembered credentials are gone; Berth CPU per request over all of them, in 10 ms ticks; ` +
      `slapd's and the provider's own CPU not counted):\n`,
    markdown(['user', 'first request ms', 'Berth CPU ms', 'after expiry ms', 'after expiry / db', 'Berth CPU ms', 'CPU / db'], coldRows),
  ];
  const o = r.modes.oidc;
  if (o?.providerSignInMs)
    parts.push(
      `\nOIDC sign-in through the provider (browser flow, to Berth's session cookie): median ${ms(median(o.providerSignInMs))} ms`,
    );
  if (r.groups) {
    const g = r.groups;
    const med = (pairs: Array<[Rate, Rate]>, i: 0 | 1, f: (x: Rate) => number | null) => median(pairs.map((p) => f(p[i]) ?? NaN));
    const row = (what: string, pairs: Array<[Rate, Rate]>) => [
      what,
      perSecond(med(pairs, 0, (x) => x.perSecond)),
      perSecond(med(pairs, 1, (x) => x.perSecond)),
      ratio(
        med(pairs, 1, (x) => x.perSecond),
        med(pairs, 0, (x) => x.perSecond),
      ),
      `${ms(med(pairs, 0, (x) => x.p50Ms))} / ${ms(med(pairs, 1, (x) => x.p50Ms))}`,
      `${cpu(med(pairs, 0, (x) => x.cpuMsPerRequest))} / ${cpu(med(pairs, 1, (x) => x.cpuMsPerRequest))}`,
      ratio(
        med(pairs, 1, (x) => x.cpuMsPerRequest),
        med(pairs, 0, (x) => x.cpuMsPerRequest),
      ),
    ];
    parts.push(
      `\nReads through a group (LDAP users on the LDAP Berth, developer role as a direct member vs only through an LDAP group; ` +
        `${g.bearerHead[0]?.[0].requests ?? 0} requests by ${g.bearerHead[0]?.[0].clients ?? 0} clients each; medians of ${g.bearerHead.length} ` +
        `rounds alternating the order; load ${g.load[0].toFixed(1)}–${g.load[1].toFixed(1)}):\n`,
      markdown(
        [
          'request',
          'direct /s',
          'group /s',
          'group / direct',
          'p50 ms direct / group',
          'Berth CPU ms direct / group',
          'CPU group / direct',
        ],
        [
          row('manifest HEAD by tag, bearer token', g.bearerHead),
          row('manifest HEAD by tag, Basic (role looked up per request)', g.basicHead),
          row('token request, pull (role looked up per request)', g.token),
        ],
      ),
    );
  }
  parts.push('\nSettings: no request reads them from the database; they are held in memory (Settings.current()), reloaded when changed.');
  for (const s of r.skipped) parts.push(`\nskipped: ${s}`);
  parts.push(`\nuptime before: ${r.uptimeBefore}\nuptime after:  ${r.uptimeAfter}`);
  return parts.join('\n');
}

export const signinSettings = (quick: boolean): SigninSettings =>
  quick ? { clients: 8, requests: 1000, coldUsers: 3, rounds: 2 } : { clients: 16, requests: 5000, coldUsers: 7, rounds: 3 };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const result = await measureSignin(signinSettings(quick), {}, Date.now() + 600_000);
  console.log(`\n${signinTables(result)}`);
  process.exit(0);
}
