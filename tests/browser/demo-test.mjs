#!/usr/bin/env node
// Two headless browser pages (Chromium, or Firefox with --firefox) use the demo page (/) of a
// running turn daemon as two people:
//
//  1. both join one room through /signal.js and see each other; alice asks for fresh TURN
//     credentials (refreshIceServers); a chat line (broadcast) goes from one to the other;
//  2. alice calls bob with "relay only" on: a data channel and fake camera and microphone.
//     Data-channel messages must arrive in order both ways, video frames must be decoded
//     on both sides (getStats inbound-rtp framesDecoded > 0), and the selected candidate
//     pair on both sides must be relay <-> relay;
//  3. alice's signaling WebSocket is dropped (closed by the page as a network failure
//     would, held off for a moment). While she is away, bob sends her a chat line and an
//     addressed message. She must resume with the same peer id, get both, and bob must see
//     no peer-left / peer-joined for her; the call carries on over TURN.
//
// With --base2 (a second daemon sharing rooms with the first through Signal:Redis) the two
// people are on different daemons: bob's page comes from --base2, so his signaling goes there,
// and alice's page and signaling go through a TCP forwarder the script runs on loopback, in
// front of --base as a load balancer would be. In step 3 the forwarder fails over to --base2
// (new connections go there, those still open to --base are cut), so alice reconnects to the
// other daemon and must resume there with the same id; --base must then let her seat go.
//
// One JSON line goes to stdout; exit code 0 on success, 1 when a check failed, 2 when the
// test could not run.
//
// Usage:
//   node demo-test.mjs --base http://127.0.0.1:8080 [--base2 http://127.0.0.1:8081] [--api-key KEY] [--join-token-secret SECRET]
//       [--timeout-ms 60000] [--hold-ms 1500] [--chromium /usr/bin/chromium | --firefox /usr/bin/firefox-esr] [--headed]
//       [--call-only] [--ignore-certificate-errors]
// --api-key is Signal:ApiKey (the test reads /api/ice-servers and /api/rooms/{room});
// --join-token-secret is Signal:JoinTokenSecret (the test mints a join token for the pages).
// With --base2 both daemons need the same Signal:ApiKey, Signal:JoinTokenSecret and TURN secret.
// --call-only ends after the relayed call (steps 1 and 2) and hangs up: no /api/rooms needed.
// --ignore-certificate-errors lets Chromium take a self-signed certificate for the page and for
// turns: (Node's own requests trust one named by NODE_EXTRA_CA_CERTS).
// Or from the environment: DEMO_TEST_BASE, DEMO_TEST_BASE2, DEMO_TEST_API_KEY, DEMO_TEST_JOIN_TOKEN_SECRET,
// DEMO_TEST_TIMEOUT_MS, DEMO_TEST_CHROMIUM.
//
// The daemon needs TURN REST credentials (Auth:Secrets, or the secret it generates without
// configured credentials) so the iceServers it hands out include turn: URLs, and, when it relays
// on loopback, Relay:UnsafeAllowLoopbackPeers.
// Needs Debian's chromium (apt-get install -y chromium) or firefox-esr and this folder's packages
// (npm ci --prefix tests/browser). It never downloads a browser.

import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { createServer, connect as connectTcp } from 'node:net';
import { createHmac } from 'node:crypto';
import { launchFirefox } from './firefox-bidi.mjs';

function fail(message, code = 2) {
  process.stderr.write(`demo-test: ${message}\n`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      base: { type: 'string' },
      base2: { type: 'string' },
      'api-key': { type: 'string' },
      'join-token-secret': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'hold-ms': { type: 'string' },
      chromium: { type: 'string' },
      firefox: { type: 'string' },
      headed: { type: 'boolean' },
      'call-only': { type: 'boolean' },
      'ignore-certificate-errors': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail(`${error.message}; see the usage at the top of demo-test.mjs`);
}
if (parsed.help) {
  process.stdout.write('node demo-test.mjs --base http://HOST:PORT [--base2 http://HOST:PORT] [--api-key KEY] [--join-token-secret SECRET] [--timeout-ms MS] [--hold-ms MS] [--chromium PATH | --firefox PATH] [--headed] [--call-only] [--ignore-certificate-errors]\n');
  process.exit(0);
}

const env = process.env;
const base = (parsed.base ?? env.DEMO_TEST_BASE ?? '').replace(/\/+$/, '');
const base2 = (parsed.base2 ?? env.DEMO_TEST_BASE2 ?? '').replace(/\/+$/, '') || undefined;
const apiKey = parsed['api-key'] ?? env.DEMO_TEST_API_KEY;
const joinTokenSecret = parsed['join-token-secret'] ?? env.DEMO_TEST_JOIN_TOKEN_SECRET;
const callOnly = parsed['call-only'] === true;
const ignoreCertificateErrors = parsed['ignore-certificate-errors'] === true;
const timeoutMs = Number(parsed['timeout-ms'] ?? env.DEMO_TEST_TIMEOUT_MS ?? 60000);
const holdMs = Number(parsed['hold-ms'] ?? 1500);
// --firefox drives Firefox (Debian's firefox-esr) over WebDriver BiDi instead of Chromium.
const useFirefox = parsed.firefox !== undefined;
const executablePath = useFirefox ? parsed.firefox : parsed.chromium ?? env.DEMO_TEST_CHROMIUM ?? '/usr/bin/chromium';

if (!/^https?:\/\/[^/]+$/.test(base)) fail('pass --base http://HOST:PORT (the daemon\'s Http:Urls entry)');
if (base2 !== undefined && !/^https?:\/\/[^/]+$/.test(base2)) fail('--base2 must be http(s)://HOST:PORT (the second daemon\'s Http:Urls entry)');
if (base2 === base) fail('--base2 must name another daemon than --base');
if (!Number.isFinite(timeoutMs) || timeoutMs < 5000) fail(`--timeout-ms must be at least 5000, not ${timeoutMs}`);
if (!Number.isFinite(holdMs) || holdMs < 0) fail(`--hold-ms must be a number of milliseconds, not ${holdMs}`);
if (!existsSync(executablePath)) fail(`${executablePath} does not exist: install Debian's ${useFirefox ? 'firefox-esr' : 'chromium'} with apt-get`);

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (error) {
  fail(`cannot load playwright-core (${error.message}): run \`npm ci --prefix tests/browser\``);
}

const authHeaders = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};

/** GET from + path (--base unless told) with the API key; with orNull, null for a 404 (no peer of the room on that daemon). */
async function api(path, { from = base, orNull = false } = {}) {
  const response = await fetch(from + path, { headers: authHeaders });
  if (orNull && response.status === 404) return null;
  if (!response.ok) throw new Error(`GET ${from}${path}: HTTP ${response.status}`);
  return response.json();
}

// The TURN hosts must be excluded from MAP * ~NOTFOUND (Chromium resolves even an IP
// literal for turn:...?transport=tcp); the rule keeps the browser off the network otherwise.
const bases = base2 === undefined ? [base] : [base, base2];
const hosts = new Set();
for (const from of bases) {
  let iceServers;
  try {
    ({ iceServers } = await api('/api/ice-servers', { from }));
  } catch (error) {
    fail(`cannot read ${from}/api/ice-servers (${error.message}); is the daemon running, and is --api-key right?`);
  }
  const turnUrls = iceServers.flatMap((s) => s.urls).filter((u) => /^turns?:/i.test(u));
  if (turnUrls.length === 0) fail(`${from}/api/ice-servers hands out no turn: URL; configure Auth:Secrets`);
  hosts.add(new URL(from).hostname);
  for (const url of turnUrls) hosts.add(/^turns?:(\[[^\]]+\]|[^:?]+)/i.exec(url)[1]);
}
const resolverRules = ['MAP * ~NOTFOUND', 'EXCLUDE localhost', ...[...hosts].map((h) => `EXCLUDE ${h}`)].join(', ');

/** A join token (docs/signaling.md, "Join tokens") for any room, valid for ten minutes. */
function joinToken(secret) {
  const payload = Buffer.from(JSON.stringify({ room: '*', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
}
const pageUrl = (from) => (joinTokenSecret ? `${from}/?token=${encodeURIComponent(joinToken(joinTokenSecret))}` : `${from}/`);

/**
 * A TCP forwarder on loopback in front of a daemon, as a load balancer would be: each accepted
 * connection is piped to the current target. route() sends new connections to another daemon,
 * cutStale() cuts those still open to an old one: the two halves of a fail-over.
 */
async function startForwarder(target) {
  const open = new Set();
  const forwarded = new Map();
  let current = target;
  const server = createServer((client) => {
    const to = current;
    const { hostname, port } = new URL(to);
    const upstream = connectTcp({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || (to.startsWith('https:') ? 443 : 80) });
    const pair = { client, upstream, to };
    open.add(pair);
    forwarded.set(to, (forwarded.get(to) ?? 0) + 1);
    const end = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const host = new URL(target).hostname.replace(/^\[|\]$/g, '');
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  const url = new URL(target);
  url.port = String(port);
  return {
    base: url.origin,
    /** Connections forwarded so far, per target. */
    forwarded,
    /** New connections go to `to`. */
    route(to) {
      current = to;
    },
    /** Cuts the connections open to another target than the current one; returns how many. */
    cutStale() {
      let cut = 0;
      for (const pair of [...open]) {
        if (pair.to !== current) {
          pair.client.destroy();
          pair.upstream.destroy();
          open.delete(pair);
          cut++;
        }
      }
      return cut;
    },
    close() {
      for (const pair of open) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      server.close();
    },
  };
}

const started = Date.now();
const steps = [];
const step = (name, detail = {}) => steps.push({ step: name, ms: Date.now() - started, ...detail });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls fn (in Node) until it returns a truthy value. */
async function until(what, fn, ms = timeoutMs, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(every);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last !== undefined ? ` (last: ${JSON.stringify(last)})` : ''}`);
}

const state = (page) => page.evaluate(() => window.demo.state);
/** The page's connection to the one other person in its call (the call is a mesh of one here). */
const callLink = (s) => s.call?.links[0] ?? null;

let browser;
let forwarder;
let exitCode = 0;
const result = { ok: false, base, ...(base2 === undefined ? {} : { base2 }) };
const overall = setTimeout(() => {
  process.stderr.write(`demo-test: the whole run exceeded ${timeoutMs * 3} ms\n`);
  process.stdout.write(JSON.stringify({ ...result, problem: 'overall timeout', steps }) + '\n');
  process.exit(1);
}, timeoutMs * 3);

try {
  browser = useFirefox ? await launchFirefox({ executablePath, headless: !parsed.headed }) : await chromium.launch({
    executablePath,
    headless: !parsed.headed,
    timeout: 30000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      `--host-resolver-rules=${resolverRules}`,
      ...(ignoreCertificateErrors ? ['--ignore-certificate-errors'] : []),
    ],
  });
  result.browser = browser.version();

  // With --base2, alice reaches the first daemon through the forwarder and bob the second directly.
  if (base2 !== undefined) forwarder = await startForwarder(base);
  const pageBase = { alice: forwarder?.base ?? base, bob: base2 ?? base };

  // Two contexts: two people with nothing shared.
  const pages = {};
  for (const name of ['alice', 'bob']) {
    const context = await browser.newContext({ ignoreHTTPSErrors: ignoreCertificateErrors });
    const page = await context.newPage();
    page.on('pageerror', (error) => process.stderr.write(`demo-test: ${name}: page error: ${error.message}\n`));
    await page.goto(pageUrl(pageBase[name]), { timeout: 15000 });
    await page.waitForFunction(() => window.demo !== undefined && window.demo.client.state === 'open', null, { timeout: 15000 });
    pages[name] = page;
  }
  const { alice, bob } = pages;
  step('pages loaded', base2 === undefined ? {} : { alice: `${pageBase.alice} -> ${base}`, bob: base2 });

  // 1. Join, see each other, chat.
  const room = `demo-test-${Math.random().toString(36).slice(2, 10)}`;
  const aliceJoined = await alice.evaluate((room) => window.demo.join(room, 'alice'), room);
  const bobJoined = await bob.evaluate((room) => window.demo.join(room, 'bob'), room);
  if (aliceJoined.v !== 1) throw new Error(`joined.v is ${aliceJoined.v}, not 1`);
  if (!bobJoined.peers.some((p) => p.id === aliceJoined.id && p.name === 'alice')) throw new Error(`bob's joined.peers lacks alice: ${JSON.stringify(bobJoined.peers)}`);
  if (!bobJoined.iceServers.some((s) => s.urls.some((u) => u.startsWith('turn')) && s.username && s.credential)) throw new Error('joined.iceServers has no TURN server with credentials');
  await until('alice to see bob join', async () => (await state(alice)).peers.some((p) => p.id === bobJoined.id && p.name === 'bob'));
  step('joined', { room, alice: aliceJoined.id, bob: bobJoined.id });

  // Fresh TURN credentials on request (signal.js also asks by itself before they run out).
  const refreshed = await alice.evaluate(() => window.demo.client.refreshIceServers());
  const turnEntry = (servers) => servers.find((s) => s.username);
  if (!turnEntry(refreshed)?.credential) throw new Error(`refreshIceServers() gave no TURN credentials: ${JSON.stringify(refreshed)}`);
  if (JSON.stringify(await alice.evaluate(() => window.demo.client.iceServers)) !== JSON.stringify(refreshed)) throw new Error('client.iceServers was not updated by the refresh');
  step('ice-servers refreshed', { username: turnEntry(refreshed).username });

  await alice.evaluate(() => window.demo.chat('hello from alice'));
  await until('bob to get alice\'s chat line', () => bob.evaluate((from) => window.demo.chatMessages.some((m) => m.from === from && m.text === 'hello from alice'), aliceJoined.id));
  step('chat');

  // 2. A relayed call with a data channel and fake media.
  await bob.evaluate(() => window.demo.setMedia(true));
  await alice.evaluate((peer) => window.demo.call(peer, { relayOnly: true, media: true }), bobJoined.id);
  await until('both sides connected with the data channel open', async () => {
    const [a, b] = [await state(alice), await state(bob)];
    const [la, lb] = [callLink(a), callLink(b)];
    return la?.peer === bobJoined.id && lb?.peer === aliceJoined.id
      && la.connectionState === 'connected' && lb.connectionState === 'connected' && la.dataChannel === 'open' && lb.dataChannel === 'open';
  });
  const callState = { alice: callLink(await state(alice)), bob: callLink(await state(bob)) };
  if (callState.alice.iceTransportPolicy !== 'relay' || callState.bob.iceTransportPolicy !== 'relay') throw new Error(`the call is not relay only: ${JSON.stringify(callState)}`);
  step('call connected', callState);

  const sendBatch = async (page, prefix, count) => page.evaluate(({ prefix, count }) => {
    for (let i = 0; i < count; i++) window.demo.sendOnDataChannel(`${prefix}-${i}`);
  }, { prefix, count });
  const expectBatch = (page, prefix, count) => until(`${count} data-channel messages "${prefix}-*" in order`, () => page.evaluate(({ prefix, count }) => {
    const got = window.demo.callDataChannelMessages.filter((m) => m.startsWith(`${prefix}-`));
    return got.length === count && got.every((m, i) => m === `${prefix}-${i}`);
  }, { prefix, count }));
  await sendBatch(alice, 'a2b', 50);
  await sendBatch(bob, 'b2a', 50);
  await expectBatch(bob, 'a2b', 50);
  await expectBatch(alice, 'b2a', 50);
  step('data channel', { each: 50 });

  const frames = {};
  for (const [name, page] of Object.entries(pages)) {
    frames[name] = await until(`${name} to decode video frames`, async () => {
      const n = await page.evaluate(() => window.demo.framesDecoded());
      return n > 0 ? n : false;
    }, timeoutMs, 250);
  }
  const pairs = {
    alice: await alice.evaluate(() => window.demo.selectedCandidateTypes()),
    bob: await bob.evaluate(() => window.demo.selectedCandidateTypes()),
  };
  for (const [name, pair] of Object.entries(pairs)) {
    if (pair?.local !== 'relay' || pair?.remote !== 'relay') throw new Error(`${name}'s selected candidate pair is ${JSON.stringify(pair)}, not relay <-> relay`);
  }
  step('media relayed', { framesDecoded: frames, pairs });

  // --call-only stops after the call: a daemon without Signal:ApiKey has no /api/rooms to watch the resume with.
  if (!callOnly) {
    // 3. Alice's signaling connection drops; bob writes to her while she is away.
    const bobEventsBefore = await bob.evaluate(() => window.demo.peerEvents.length);
    await alice.evaluate(() => {
      window.addressedToMe = [];
      window.demo.client.on('message', (m) => window.addressedToMe.push(m));
    });
    // With --base2 the forwarder fails over first, so her reconnect reaches the other daemon.
    // Then what is left of her connections to the first daemon (say, kept-alive HTTP) is cut.
    forwarder?.route(base2);
    await alice.evaluate((hold) => window.demo.dropSignaling(hold), holdMs);
    const cut = forwarder?.cutStale() ?? 0;
    let sawAway = null;
    try {
      await until('the server to see alice away', async () => {
        const snapshot = await api(`/api/rooms/${encodeURIComponent(room)}`);
        return snapshot.peers.some((p) => p.id === aliceJoined.id && p.connected === false);
      }, Math.max(holdMs - 200, 200), 50);
      sawAway = true;
    } catch (error) {
      if (holdMs > 0) throw error;  // with no hold she may well be back already
      sawAway = false;
    }
    await bob.evaluate(() => window.demo.chat('while you were away'));
    await bob.evaluate((to) => window.demo.client.message(to, { note: 'kept for you' }), aliceJoined.id);
    step('alice dropped', { serverSawAway: sawAway, ...(forwarder ? { failover: base2, connectionsCut: cut } : {}) });

    await until('alice to resume', async () => {
      const s = await state(alice);
      return s.resumes >= 1 && s.connection === 'joined';
    });
    const resumed = await state(alice);
    if (resumed.id !== aliceJoined.id) throw new Error(`alice resumed as ${resumed.id}, not ${aliceJoined.id}`);
    await until('alice to get what bob sent while she was away', () => alice.evaluate((from) =>
      window.demo.chatMessages.some((m) => m.from === from && m.text === 'while you were away'), bobJoined.id));
    await until('alice to get the message bob addressed to her while she was away', () => alice.evaluate((from) =>
      window.addressedToMe.some((m) => m.from === from && m.data?.note === 'kept for you'), bobJoined.id));
    const bobEvents = await bob.evaluate((n) => window.demo.peerEvents.slice(n), bobEventsBefore);
    if (bobEvents.length > 0) throw new Error(`bob saw ${JSON.stringify(bobEvents)} while alice resumed`);
    // The daemon she resumed on holds her seat, connected.
    const resumedOn = base2 ?? base;
    const roomAfter = await api(`/api/rooms/${encodeURIComponent(room)}`, { from: resumedOn });
    if (!roomAfter.peers.some((p) => p.id === aliceJoined.id && p.connected)) throw new Error(`after the resume ${resumedOn} shows ${JSON.stringify(roomAfter)}`);
    if (forwarder) {
      if (!(forwarder.forwarded.get(base2) > 0)) throw new Error(`no connection of alice's went to ${base2}`);
      // With rooms across daemons GET /api/rooms/{room} lists every daemon's members: the first
      // daemon, which let her seat go, now shows her once, connected (on the second).
      await until(`${base} to show alice once, connected`, async () => {
        const snapshot = await api(`/api/rooms/${encodeURIComponent(room)}`, { from: base, orNull: true });
        const entries = snapshot?.peers.filter((p) => p.id === aliceJoined.id) ?? [];
        return entries.length === 1 && entries[0].connected;
      }, 5000, 100);
    }
    step('alice resumed', {
      id: resumed.id, on: resumedOn, keptMessages: 2, bobPeerEvents: bobEvents.length,
      ...(forwarder ? { connectionsForwardedTo: Object.fromEntries(forwarder.forwarded) } : {}),
    });

    // The call never depended on the signaling socket.
    await sendBatch(alice, 'after', 10);
    await expectBatch(bob, 'after', 10);
    const framesBefore = frames.bob;
    const framesLater = await until('bob to keep decoding video', async () => {
      const n = await bob.evaluate(() => window.demo.framesDecoded());
      return n > framesBefore ? n : false;
    }, timeoutMs, 250);
    if (callLink(await state(alice))?.connectionState !== 'connected') throw new Error('the call did not survive the signaling drop');
    step('call survived', { bobFramesDecoded: framesLater });
  }

  // Hang up; bob's side ends too.
  await alice.evaluate(() => window.demo.hangup());
  await until('bob to see the hang-up', async () => (await state(bob)).call === null);
  step('hung up');

  Object.assign(result, { ok: true, room, alice: aliceJoined.id, bob: bobJoined.id, framesDecoded: frames, pairs });
} catch (error) {
  exitCode = error.message.startsWith('browserType.launch') ? 2 : 1;
  result.problem = error.message;
  process.stderr.write(`demo-test: FAILED: ${error.message}\n`);
} finally {
  clearTimeout(overall);
  if (browser) await browser.close().catch(() => {});
  forwarder?.close();
}
result.elapsedMs = Date.now() - started;
result.steps = steps;
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(exitCode);
