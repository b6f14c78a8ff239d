#!/usr/bin/env node
// Several headless browser pages use the demo page (/) of a running turn daemon for a group
// call and a file transfer, relay only (iceTransportPolicy "relay"), with fake camera and
// microphone.
//
// --scenario call (the default): five people join one room: ann, ben, cat, dan and eve; with
// --firefox, cat's page runs in Firefox and the others in Chromium. The call limit is lowered
// to 4 on every page, so that five pages can show it being enforced.
//  1. ann joins the call, then ben, cat and dan at once: each of the four ends up with three
//     connections (a full mesh, six pairs), every remote tile decodes video (getStats
//     inbound-rtp framesDecoded > 0), every selected candidate pair is relay <-> relay, and the
//     tiles show the path and live figures; a data-channel text reaches the other three;
//  2. eve is refused: the call is full (a note says so) and nobody connects to her;
//  3. ann mutes her microphone and turns her camera off: the others see it on her tile;
//  4. dan leaves the call: his tile goes from every page, his connections close, and the
//     remaining pairs keep decoding; eve joins: tiles appear, and every pair decodes;
//  5. ben leaves the room: his tiles go (peer-left), and the remaining pairs keep decoding.
//
// --scenario file: ann and ben (ben in Firefox with --firefox) join a call without media; each
// sends the other --file-bytes (5 MiB) of random bytes made here, both at once over the one
// "files" data channel between them (sendFile() and receiveFiles() of /signal.js). Each
// receiver must report the SHA-256 computed here and offer a download link, both sides must
// have shown progress, and the pair must be relay <-> relay. Then a file whose trailer
// announces a wrong SHA-256 is sent raw on the channel: ben must report the mismatch, and tell
// ann.
//
// One JSON line goes to stdout; exit code 0 on success, 1 when a check failed, 2 when the
// test could not run.
//
// Usage:
//   node group-test.mjs --base http://127.0.0.1:8080 [--scenario call|file] [--api-key KEY] [--join-token-secret SECRET]
//       [--timeout-ms 45000] [--chromium /usr/bin/chromium] [--firefox /usr/bin/firefox-esr] [--file-bytes N] [--headed]
// The daemon needs what demo-test.mjs says (TURN REST credentials, Relay:UnsafeAllowLoopbackPeers
// on loopback); --api-key reads /api/ice-servers, --join-token-secret mints join tokens.

import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { launchFirefox } from './firefox-bidi.mjs';

function fail(message, code = 2) {
  process.stderr.write(`group-test: ${message}\n`);
  process.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      base: { type: 'string' },
      scenario: { type: 'string' },
      'api-key': { type: 'string' },
      'join-token-secret': { type: 'string' },
      'timeout-ms': { type: 'string' },
      'file-bytes': { type: 'string' },
      chromium: { type: 'string' },
      firefox: { type: 'string' },
      headed: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail(`${error.message}; see the usage at the top of group-test.mjs`);
}
if (parsed.help) {
  process.stdout.write('node group-test.mjs --base http://HOST:PORT [--scenario call|file] [--api-key KEY] [--join-token-secret SECRET] [--timeout-ms MS] [--chromium PATH] [--firefox PATH] [--file-bytes N] [--headed]\n');
  process.exit(0);
}

const base = (parsed.base ?? '').replace(/\/+$/, '');
const scenario = parsed.scenario ?? 'call';
const apiKey = parsed['api-key'];
const joinTokenSecret = parsed['join-token-secret'];
const timeoutMs = Number(parsed['timeout-ms'] ?? 45000);
const fileBytes = Number(parsed['file-bytes'] ?? 5 * 1024 * 1024);
const chromiumPath = parsed.chromium ?? '/usr/bin/chromium';
const firefoxPath = parsed.firefox;

if (!/^https?:\/\/[^/]+$/.test(base)) fail('pass --base http://HOST:PORT (the daemon\'s Http:Urls entry)');
if (!['call', 'file'].includes(scenario)) fail(`--scenario is call or file, not ${scenario}`);
if (!Number.isFinite(timeoutMs) || timeoutMs < 5000) fail(`--timeout-ms must be at least 5000, not ${timeoutMs}`);
if (!Number.isSafeInteger(fileBytes) || fileBytes < 1) fail(`--file-bytes must be a positive number of bytes, not ${parsed['file-bytes']}`);
if (!existsSync(chromiumPath)) fail(`${chromiumPath} does not exist: install Debian's chromium with apt-get`);
if (firefoxPath !== undefined && !existsSync(firefoxPath)) fail(`${firefoxPath} does not exist: install Debian's firefox-esr with apt-get`);

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (error) {
  fail(`cannot load playwright-core (${error.message}): run \`npm ci --prefix tests/browser\``);
}

// The TURN hosts must be excluded from MAP * ~NOTFOUND, which keeps Chromium off the network.
let iceServers;
try {
  const response = await fetch(`${base}/api/ice-servers`, { headers: apiKey ? { Authorization: `Bearer ${apiKey}` } : {} });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  ({ iceServers } = await response.json());
} catch (error) {
  fail(`cannot read ${base}/api/ice-servers (${error.message}); is the daemon running, and is --api-key right?`);
}
const turnUrls = iceServers.flatMap((s) => s.urls).filter((u) => /^turns?:/i.test(u));
if (turnUrls.length === 0) fail(`${base}/api/ice-servers hands out no turn: URL; configure Auth:Secrets`);
const hosts = new Set([new URL(base).hostname, ...turnUrls.map((u) => /^turns?:(\[[^\]]+\]|[^:?]+)/i.exec(u)[1])]);
const resolverRules = ['MAP * ~NOTFOUND', 'EXCLUDE localhost', ...[...hosts].map((h) => `EXCLUDE ${h}`)].join(', ');

function joinToken(secret) {
  const payload = Buffer.from(JSON.stringify({ room: '*', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
}
const pageUrl = joinTokenSecret ? `${base}/?token=${encodeURIComponent(joinToken(joinTokenSecret))}` : `${base}/`;

const started = Date.now();
const steps = [];
const step = (name, detail = {}) => steps.push({ step: name, ms: Date.now() - started, ...detail });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls fn until it returns a truthy value. */
async function until(what, fn, ms = timeoutMs, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(every);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last !== undefined ? ` (last: ${JSON.stringify(last)})` : ''}`);
}

const browsers = [];
const everyone = [];  // for the report of a failure
async function openBrowser(kind) {
  const browser = kind === 'firefox' ? await launchFirefox({ executablePath: firefoxPath }) : await chromium.launch({
    executablePath: chromiumPath,
    headless: !parsed.headed,
    timeout: 30000,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required', `--host-resolver-rules=${resolverRules}`,
      // Pages in one browser share its processes; keep the background ones running at full speed.
      '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
    ],
  });
  browsers.push(browser);
  return browser;
}

/** One person: a page of its own (its own context) in the given browser, joined to the room. */
async function person(browser, name, room, kind) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => process.stderr.write(`group-test: ${name}: page error: ${error.message}\n`));
  await page.goto(pageUrl, { timeout: 15000 });
  await page.waitForFunction(() => window.demo !== undefined && window.demo.client.state === 'open', null, { timeout: 15000 });
  const joined = await page.evaluate(({ room, name }) => window.demo.join(room, name), { room, name });
  // A page that does not answer within 45 s (a browser stuck under load) fails the step, and says so.
  const evaluate = (fn, arg) => Promise.race([
    page.evaluate(fn, arg),
    sleep(45000).then(() => { throw new Error(`${name}'s page (${kind}) did not answer within 45 s`); }),
  ]);
  const p = { name, page: { evaluate }, id: joined.id, browser: kind };
  everyone.push(p);
  return p;
}

const state = (p) => p.page.evaluate(() => window.demo.state);
const allStats = (p) => p.page.evaluate(() => window.demo.allStats());
const tiles = (p) => p.page.evaluate(() => window.demo.tiles());

/** A page's state and the getStats() figures of each of its connections, in one round trip. */
const snapshot = (p) => p.page.evaluate(async () => ({ state: window.demo.state, stats: await window.demo.allStats(), tiles: window.demo.tiles() }));

/** Checks every page of `members` at once (fn gets the person and its snapshot); true when fn holds for all. */
async function everyPage(members, fn) {
  const snapshots = await Promise.all(members.map(snapshot));
  return members.every((m, i) => fn(m, snapshots[i]));
}

const others = (members, m) => members.filter((o) => o !== m).map((o) => o.id).sort();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Waits until each of `members` has a connected link with an open data channel to each of the
 * others and nothing else, decodes video from each (when `video`), and every selected pair is
 * relayed at both ends: the local candidate is a relay one, and the remote one is the other
 * side's relay candidate. (Firefox may type that remote one "prflx", peer-reflexive, when the
 * other side's checks came in before its candidate did; its address tells.)
 * Returns {name: {peerName: {frames, pair}}}.
 */
async function meshUp(members, { video = true, what = 'the mesh' } = {}) {
  const nameOf = new Map(members.map((m) => [m.id, m.name]));
  let result;
  await until(what, async () => {
    const snapshots = await Promise.all(members.map(snapshot));
    const statsOf = new Map(members.map((m, i) => [m.id, new Map(snapshots[i].stats.map((st) => [st.peer, st]))]));
    result = {};
    return members.every((m, i) => {
      const { state: s } = snapshots[i];
      const links = s.call?.links ?? [];
      if (!same(links.map((l) => l.peer).sort(), others(members, m))) return false;
      if (!links.every((l) => l.connectionState === 'connected' && l.dataChannel === 'open' && l.iceTransportPolicy === 'relay')) return false;
      result[m.name] = {};
      for (const [peer, st] of statsOf.get(m.id)) {
        const back = statsOf.get(peer)?.get(m.id);
        if (st.local !== 'relay' || !['relay', 'prflx'].includes(st.remote) || back?.local !== 'relay') return false;
        if (st.remoteCandidate.address !== back.localCandidate.address) return false;
        if (video && !(st.framesDecoded > 0)) return false;
        result[m.name][nameOf.get(peer)] = {
          frames: st.framesDecoded, size: st.frameWidth && `${st.frameWidth}x${st.frameHeight}`, pair: `${st.local}/${st.remote}/${st.localCandidate.relayProtocol}`,
        };
      }
      return true;
    });
  }, timeoutMs, 250);
  return result;
}

/** Frames decoded per page and peer right now. */
async function frames(members) {
  const all = await Promise.all(members.map(allStats));
  return Object.fromEntries(members.map((m, i) => [m.id, Object.fromEntries(all[i].map((s) => [s.peer, s.framesDecoded]))]));
}

/** Waits until every pair among `members` has decoded more frames than in `before`. */
async function keepDecoding(members, before, what) {
  let now;
  await until(what, async () => {
    now = await frames(members);
    return members.every((m) => others(members, m).every((o) => now[m.id][o] > (before[m.id]?.[o] ?? 0)));
  }, timeoutMs, 250);
  return now;
}

/** Waits until every page in `members` shows a tile for exactly the others, with a relay path and live figures. */
async function tilesShow(members, what) {
  await until(what, () => everyPage(members, (m, { tiles: shown }) =>
    same(shown.map((t) => t.peer).sort(), others(members, m))
    && shown.every((t) => t.path.startsWith('relayed: relay') && /^[1-9]\d* frames decoded/.test(t.frames) && t.rate.endsWith('kbit/s') && t.playing)), timeoutMs, 250);
}

async function callScenario(room) {
  const chromiumBrowser = await openBrowser('chromium');
  const firefoxBrowser = firefoxPath ? await openBrowser('firefox') : null;
  result.browsers = browsers.map((b) => b.version());
  const names = ['ann', 'ben', 'cat', 'dan', 'eve'];
  const people = Object.fromEntries(await Promise.all(names.map(async (name) => {
    const inFirefox = name === 'cat' && firefoxBrowser;
    return [name, await person(inFirefox ? firefoxBrowser : chromiumBrowser, name, room, inFirefox ? 'firefox' : 'chromium')];
  })));
  const { ann, ben, cat, dan, eve } = people;
  for (const p of Object.values(people)) await p.page.evaluate(() => window.demo.setCallLimit(4));
  result.people = Object.fromEntries(Object.values(people).map((p) => [p.name, { id: p.id, browser: p.browser }]));
  step('pages joined the room', { room });

  // 1. Four in the call: a full mesh of six relayed pairs.
  if (!await ann.page.evaluate(() => window.demo.joinCall({ relayOnly: true, media: true }))) throw new Error('ann could not start the call');
  const joins = await Promise.all([ben, cat, dan].map((p) => p.page.evaluate(() => window.demo.joinCall({ relayOnly: true, media: true }))));
  if (!joins.every(Boolean)) throw new Error(`not everyone could join: ${JSON.stringify(joins)}`);
  const four = [ann, ben, cat, dan];
  const mesh = await meshUp(four, { what: 'four pages to decode each other through relays' });
  await tilesShow(four, 'every tile to show a relay path and live figures');
  // Glare is avoided by rule: of each pair, the one with the smaller id made the offer.
  const nameOfId = new Map(Object.values(people).map((p) => [p.id, p.name]));
  const roles = {};
  for (const m of four) {
    const { links } = (await state(m)).call;
    roles[m.name] = Object.fromEntries(links.map((l) => [nameOfId.get(l.peer), l.role]));
    for (const l of links) {
      if ((l.role === 'offerer') !== (m.id < l.peer)) throw new Error(`${m.name}'s link to ${nameOfId.get(l.peer)} is ${l.role}: the smaller id must offer`);
    }
  }
  step('mesh of four', { mesh, roles });

  await ann.page.evaluate(() => window.demo.sendOnDataChannel('hello, mesh'));
  await until('ben, cat and dan to get ann\'s data-channel text', async () =>
    (await Promise.all([ben, cat, dan].map((m) => m.page.evaluate(() => window.demo.callDataChannelMessages.includes('hello, mesh'))))).every(Boolean));
  step('data channel to everyone');

  // 2. A fifth is refused: the call is full.
  const eveJoined = await eve.page.evaluate(() => window.demo.joinCall({ relayOnly: true, media: true }));
  const eveState = await state(eve);
  const eveNote = await eve.page.evaluate(() => window.demo.note);
  if (eveJoined || eveState.call !== null) throw new Error('eve joined a full call');
  if (!/full/i.test(eveNote)) throw new Error(`eve's page does not say the call is full: "${eveNote}"`);
  if (eveState.inCall.length !== 4) throw new Error(`eve sees ${JSON.stringify(eveState.inCall)} in the call, not the four`);
  await sleep(500);
  if (!await everyPage(four, (m, { state: st }) => !st.call.links.some((l) => l.peer === eve.id))) throw new Error('someone connected to eve');
  step('fifth refused', { note: eveNote });

  // 3. Mute and camera off show on ann's tile everywhere.
  await ann.page.evaluate(() => {
    window.demo.setMicrophone(false);
    window.demo.setCamera(false);
  });
  const annCall = (await state(ann)).call;
  if (annCall.audio || annCall.video) throw new Error(`ann's call still sends: ${JSON.stringify(annCall)}`);
  const annFlags = (want) => everyPage([ben, cat, dan], (m, { state: st }) => {
    const flags = st.call.links.find((l) => l.peer === ann.id)?.remoteFlags;
    return flags?.audio === want && flags.video === want;
  });
  await until('the others to see ann muted with her camera off', () => annFlags(false));
  await ann.page.evaluate(() => {
    window.demo.setMicrophone(true);
    window.demo.setCamera(true);
  });
  await until('the others to see ann back on', () => annFlags(true));
  step('mute and camera shown');

  // 4. dan leaves the call, eve takes his place.
  await dan.page.evaluate(() => window.demo.hangup());
  const three = [ann, ben, cat];
  await until('dan to be gone from every call', async () => (await state(dan)).call === null
    && everyPage(three, (m, { state: st, tiles: shown }) =>
      !st.call.links.some((l) => l.peer === dan.id) && !st.inCall.includes(dan.id) && !shown.some((t) => t.peer === dan.id)));
  const afterDan = await keepDecoding(three, await frames(three), 'the remaining three pairs to keep decoding after dan left');
  step('dan left the call', { framesDecoded: afterDan });

  if (!await eve.page.evaluate(() => window.demo.joinCall({ relayOnly: true, media: true }))) throw new Error(`eve could not join after dan left: ${await eve.page.evaluate(() => window.demo.note)}`);
  const withEve = [ann, ben, cat, eve];
  const mesh2 = await meshUp(withEve, { what: 'eve to be in the mesh, decoding and decoded' });
  await tilesShow(withEve, 'eve\'s tile on every page, and hers for everyone');
  step('eve joined the call', { mesh: mesh2 });

  // 5. ben leaves the room altogether: peer-left closes his connections.
  await ben.page.evaluate(() => window.demo.leave());
  const last = [ann, cat, eve];
  await until('ben\'s tiles to go', () => everyPage(last, (m, { state: st, tiles: shown }) =>
    !st.call.links.some((l) => l.peer === ben.id) && !shown.some((t) => t.peer === ben.id)));
  const afterBen = await keepDecoding(last, await frames(last), 'the remaining three pairs to keep decoding after ben left the room');
  await tilesShow(last, 'two tiles on each remaining page');
  step('ben left the room', { framesDecoded: afterBen });
}

async function fileScenario(room) {
  const chromiumBrowser = await openBrowser('chromium');
  const otherBrowser = firefoxPath ? await openBrowser('firefox') : chromiumBrowser;
  result.browsers = browsers.map((b) => b.version());
  const [ann, ben] = await Promise.all([
    person(chromiumBrowser, 'ann', room, 'chromium'),
    person(otherBrowser, 'ben', room, firefoxPath ? 'firefox' : 'chromium'),
  ]);
  const pair = [ann, ben];
  result.people = { ann: { id: ann.id, browser: ann.browser }, ben: { id: ben.id, browser: ben.browser } };
  await ben.page.evaluate(() => window.demo.setOptions({ relayOnly: true, media: false }));
  await ann.page.evaluate((peer) => window.demo.call(peer, { relayOnly: true, media: false }), ben.id);
  await meshUp(pair, { video: false, what: 'a relayed call with data channels' });
  await until('both "files" channels to open', () => everyPage(pair, (m, { state: st }) => st.call?.links[0]?.fileChannel === 'open'));
  step('call up', { room });

  // Random bytes made here, one file each way, handed to the pages in pieces.
  const files = new Map();
  for (const m of pair) {
    const bytes = randomBytes(fileBytes);
    files.set(m, { bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
    await m.page.evaluate(() => { window.testFileParts = []; });
    for (let offset = 0; offset < bytes.length; offset += 1024 * 1024) {
      await m.page.evaluate((b64) => {
        const text = atob(b64);
        const part = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) part[i] = text.charCodeAt(i);
        window.testFileParts.push(part);
      }, bytes.subarray(offset, offset + 1024 * 1024).toString('base64'));
    }
  }
  step('files staged', { bytes: fileBytes, sha256: Object.fromEntries(pair.map((m) => [m.name, files.get(m).sha256])) });

  // Both send at once, on the one "files" channel between them.
  const sendStarted = Date.now();
  const sent = await Promise.all(pair.map((m) => m.page.evaluate(({ peer, name }) =>
    window.demo.sendFile(peer, new File(window.testFileParts, name, { type: 'application/octet-stream' })), { peer: pair.find((o) => o !== m).id, name: `from-${m.name}.bin` })));
  const transferMs = Date.now() - sendStarted;
  const report = {};
  for (const [i, m] of pair.entries()) {
    const to = pair.find((o) => o !== m);
    const { sha256 } = files.get(m);
    if (sent[i].sha256 !== sha256) throw new Error(`${m.name} hashed ${sent[i].sha256}, not ${sha256}`);
    const received = await until(`${to.name} to report ${m.name}'s file`, async () => {
      const got = await to.page.evaluate(() => window.demo.files.filter((f) => f.direction === 'in'));
      return got.length > 0 && got[0].ok !== null ? got[0] : false;
    }, 10000, 100);
    if (!received.ok) throw new Error(`${to.name} reported ${JSON.stringify(received)}`);
    if (received.sha256 !== sha256) throw new Error(`${to.name} hashed ${received.sha256}, not the ${sha256} of the bytes ${m.name} sent`);
    if (received.size !== fileBytes || received.received !== fileBytes || received.name !== `from-${m.name}.bin`) throw new Error(`${to.name} got ${JSON.stringify(received)}`);
    const outgoing = (await m.page.evaluate(() => window.demo.files.filter((f) => f.direction === 'out')))[0];
    if (!outgoing?.ok || outgoing.sent !== fileBytes) throw new Error(`${m.name} reports ${JSON.stringify(outgoing)}`);
    const minimumEvents = Math.min(3, Math.ceil(fileBytes / 16384));
    if (outgoing.progressEvents < minimumEvents || received.progressEvents < minimumEvents) throw new Error(`too little progress shown: ${m.name} ${outgoing.progressEvents}, ${to.name} ${received.progressEvents}`);
    const links = await to.page.evaluate(() => [...document.querySelectorAll('#files a[download]')].map((a) => ({ name: a.download, href: a.href.slice(0, 5) })));
    if (!links.some((d) => d.name === `from-${m.name}.bin` && d.href === 'blob:')) throw new Error(`no download link on ${to.name}'s page: ${JSON.stringify(links)}`);
    report[`${m.name} to ${to.name}`] = { sha256: received.sha256, progressEvents: { sending: outgoing.progressEvents, receiving: received.progressEvents } };
  }
  const pairs = await meshUp(pair, { video: false, what: 'the pair to be relayed still' });
  step('files received', { bytes: fileBytes, transferMs, mbitPerSecondEachWay: Math.round((fileBytes * 8) / transferMs / 100) / 10, ...report, pairs });

  // A trailer that does not match the bytes: the receiver says so, to its user and to the sender.
  const verdict = await ann.page.evaluate(() => new Promise((resolve) => {
    const channel = window.demo.fileChannel();
    const timer = setTimeout(() => resolve({ timeout: true }), 10000);
    channel.addEventListener('message', ({ data }) => {
      if (typeof data === 'string' && data.includes('"tampered"')) {
        clearTimeout(timer);
        resolve(JSON.parse(data));
      }
    });
    channel.send(JSON.stringify({ type: 'file', id: 'tampered', name: 'tampered.bin', size: 4, mime: '' }));
    channel.send(new Uint8Array([1, 2, 3, 4]).buffer);
    channel.send(JSON.stringify({ type: 'file-end', id: 'tampered', sha256: '00'.repeat(32) }));
  }));
  if (verdict.type !== 'file-ack' || verdict.ok !== false || !/SHA-256 mismatch/.test(verdict.error ?? '')) throw new Error(`ann got ${JSON.stringify(verdict)} for a tampered file`);
  const tampered = await until('ben to report the tampered file', async () => {
    const got = await ben.page.evaluate(() => window.demo.files.filter((f) => f.name === 'tampered.bin'));
    return got[0]?.ok === false ? got[0] : false;
  }, 10000);
  if (!/SHA-256 mismatch/.test(tampered.error)) throw new Error(`ben reported ${JSON.stringify(tampered)}`);
  step('mismatch reported', { error: tampered.error });
}

let exitCode = 0;
const result = { ok: false, scenario, base };
const overall = setTimeout(async () => {
  process.stderr.write(`group-test: the whole run exceeded ${timeoutMs * 2} ms\n`);
  process.stdout.write(JSON.stringify({ ...result, problem: 'overall timeout', steps }) + '\n');
  // Firefox is a child of this process: it must not outlive it.
  await Promise.race([Promise.all(browsers.map((b) => b.close().catch(() => {}))), sleep(5000)]);
  process.exit(1);
}, timeoutMs * 2);

try {
  const room = `group-test-${Math.random().toString(36).slice(2, 10)}`;
  if (scenario === 'call') await callScenario(room);
  else await fileScenario(room);
  result.ok = true;
} catch (error) {
  exitCode = /launch|did not start/.test(error.message) ? 2 : 1;
  result.problem = error.message;
  process.stderr.write(`group-test: FAILED: ${error.message}\n`);
  // What each page saw, for the report.
  for (const p of everyone) {
    const seen = await Promise.race([
      p.page.evaluate(async () => ({ state: window.demo.state, stats: await window.demo.allStats(), log: window.demo.log.slice(-40) })).catch((e) => ({ error: e.message })),
      sleep(5000).then(() => ({ error: 'no answer' })),
    ]);
    process.stderr.write(`group-test: ${p.name} (${p.id}, ${p.browser}): ${JSON.stringify(seen)}\n`);
  }
} finally {
  clearTimeout(overall);
  for (const browser of browsers) await browser.close().catch(() => {});
}
result.elapsedMs = Date.now() - started;
result.steps = steps;
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(exitCode);
