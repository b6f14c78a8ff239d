#!/usr/bin/env node
// Signaling where WebSockets are blocked, in headless Chromium, against a running turn daemon:
//
//  1. three people open pages of the daemon's origin and use /signal.js: alice and bob in pages
//     whose WebSocket never opens (the page's WebSocket is replaced by one that fails as a
//     refused upgrade does), carol in a normal page. alice's and bob's clients must fall back to
//     the HTTP transport by themselves; carol's stays on the WebSocket;
//  2. all three join one room and see each other; a chat line (broadcast) from each reaches the
//     other two;
//  3. alice (fallback) calls carol (WebSocket) relay-only with fake camera and microphone:
//     offer, answer and candidates go through the fallback; video frames are decoded on both
//     sides through relay candidates;
//  4. alice's polls are dropped (the network refuses every request of the fallback for a
//     moment): her client reconnects over a new session and resumes with the same id, gets
//     the message bob sent her meanwhile, and carol sees no leave or join; the call goes on.
//
// One JSON line goes to stdout ({ok, steps, ...}); exit code 0 on success, 1 when a check failed,
// 2 when the test could not run.
//
// Usage: node fallback-test.mjs --base http://127.0.0.1:8080 [--chromium /usr/bin/chromium] [--timeout-ms 45000]
// The daemon needs TURN REST credentials (Auth:Secrets) and, relaying on loopback,
// Relay:UnsafeAllowLoopbackPeers; the pages join without a token, so it must admit clients on
// its own host (no Signal:JoinTokenSecret).

import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: options } = parseArgs({
  options: {
    base: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '45000' },
  },
});
if (!options.base) {
  process.stderr.write('fallback-test: --base is required\n');
  process.exit(2);
}
const base = options.base.replace(/\/$/, '');
const timeoutMs = Number(options['timeout-ms']);
const steps = [];
const step = (name, detail = {}) => steps.push({ step: name, ...detail });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, ms = timeoutMs) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last !== undefined ? ` (last: ${JSON.stringify(last)})` : ''}`);
}

// In a page: a WebSocket that fails the way one does when a proxy refuses the upgrade.
function blockWebSockets() {
  window.WebSocket = class BlockedWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      setTimeout(() => {
        this.readyState = 3;
        this.onerror?.(new Event('error'));
        this.onclose?.({ code: 1006, reason: '' });
      }, 30);
    }

    send() { throw new DOMException('not open', 'InvalidStateError'); }

    close() { this.readyState = 3; }
  };
}

// In a page: the client, its events, and a relay-only peer connection for one call.
async function setUp(name) {
  const { connect } = await import('/signal.js');
  const client = connect(undefined, { heartbeatMs: 0 });
  const t = { client, name, got: [], errors: [], pc: null, pending: [] };
  window.t = t;
  for (const type of ['broadcast', 'message', 'peer-joined', 'peer-left', 'resumed', 'resume-failed']) {
    client.on(type, (m) => t.got.push({ type, from: m.from, data: m.data, id: m.id ?? m.peer?.id }));
  }
  client.on('error', (e) => t.errors.push(e.code));
  t.call = async (peer, initiator) => {
    const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const pc = new RTCPeerConnection({ iceServers: client.iceServers, iceTransportPolicy: 'relay' });
    t.pc = pc;
    for (const track of media.getTracks()) pc.addTrack(track, media);
    pc.onicecandidate = ({ candidate }) => { if (candidate) client.candidate(peer, candidate.toJSON()); };
    if (initiator) {
      await pc.setLocalDescription(await pc.createOffer());
      client.offer(peer, pc.localDescription.toJSON());
    }
  };
  client.on('offer', async ({ from, data }) => {
    if (!t.pc) await t.call(from, false);
    await t.pc.setRemoteDescription(data);
    for (const c of t.pending.splice(0)) await t.pc.addIceCandidate(c);
    await t.pc.setLocalDescription(await t.pc.createAnswer());
    client.answer(from, t.pc.localDescription.toJSON());
  });
  client.on('answer', async ({ data }) => {
    await t.pc.setRemoteDescription(data);
    for (const c of t.pending.splice(0)) await t.pc.addIceCandidate(c);
  });
  client.on('candidate', async ({ data }) => {
    if (t.pc?.remoteDescription) await t.pc.addIceCandidate(data);
    else t.pending.push(data);
  });
  t.media = async () => {
    if (!t.pc) return null;
    const stats = await t.pc.getStats();
    let frames = 0;
    let pair;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded ?? 0;
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    const type = (id) => stats.get(id)?.candidateType;
    return { frames, local: pair && type(pair.localCandidateId), remote: pair && type(pair.remoteCandidateId) };
  };
  return client.transport;
}

let browser;
let exitCode = 0;
const result = { ok: false, base };
const overall = setTimeout(() => {
  process.stdout.write(JSON.stringify({ ...result, problem: 'overall timeout', steps }) + '\n');
  process.exit(1);
}, timeoutMs * 3);

try {
  browser = await chromium.launch({
    executablePath: options.chromium,
    headless: true,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
  });
  result.browser = browser.version();

  // 1. Pages of the daemon's origin (its /signal.js, a plain resource, is page enough).
  const pages = {};
  for (const name of ['alice', 'bob', 'carol']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (error) => process.stderr.write(`fallback-test: ${name}: ${error.message}\n`));
    if (name !== 'carol') await page.addInitScript(blockWebSockets);
    await page.goto(`${base}/signal.js`, { timeout: 15000 });
    pages[name] = page;
    await page.evaluate(setUp, name);
  }
  const { alice, bob, carol } = pages;
  const transport = (page) => page.evaluate(() => window.t.client.transport);

  // 2. Join and chat.
  const room = `fallback-${Math.random().toString(36).slice(2, 10)}`;
  const ids = {};
  for (const [name, page] of Object.entries(pages)) {
    ids[name] = (await page.evaluate((room) => window.t.client.join(room, { name: window.t.name }), room)).id;
  }
  const transports = { alice: await transport(alice), bob: await transport(bob), carol: await transport(carol) };
  if (transports.alice !== 'polling' || transports.bob !== 'polling' || transports.carol !== 'websocket') {
    throw new Error(`transports: ${JSON.stringify(transports)}`);
  }
  step('joined', { room, ids, transports });
  for (const [name, page] of Object.entries(pages)) await page.evaluate((text) => window.t.client.broadcast(text), `hello from ${name}`);
  for (const [name, page] of Object.entries(pages)) {
    await until(`${name} to get the other two's chat lines`, () => page.evaluate((name) => window.t.got.filter((m) => m.type === 'broadcast' && m.data.startsWith('hello from') && m.data !== `hello from ${name}`).length === 2, name));
  }
  step('chatted');

  // 3. alice (fallback) calls carol (WebSocket), relay only.
  await alice.evaluate((carol) => window.t.call(carol, true), ids.carol);
  const decoded = {};
  for (const [name, page] of [['alice', alice], ['carol', carol]]) {
    decoded[name] = await until(`${name} to decode video through the relay`, async () => {
      const media = await page.evaluate(() => window.t.media());
      return media && media.frames > 0 && media.local === 'relay' && media.remote === 'relay' ? media : false;
    });
  }
  step('media relayed', decoded);

  // 4. alice's polls dropped for a moment; bob writes to her meanwhile.
  let refused = 0;
  const refuse = (route) => { refused++; return route.abort('connectionreset'); };
  await alice.route('**/signal/poll**', refuse);
  // The poll under way was sent before the rule: her next post (a ping) meets the refusal.
  await alice.evaluate(() => { window.t.client.ping().catch(() => {}); });
  await until('alice to notice the drop', () => alice.evaluate(() => window.t.client.state === 'reconnecting'));
  await bob.evaluate((alice) => window.t.client.message(alice, 'while you were away'), ids.alice);
  await sleep(1000);
  await alice.unroute('**/signal/poll**', refuse);
  await until('alice to resume', () => alice.evaluate(() => window.t.got.some((m) => m.type === 'resumed')));
  const resumedId = await alice.evaluate(() => window.t.client.id);
  if (resumedId !== ids.alice) throw new Error(`alice resumed as ${resumedId}, not ${ids.alice}`);
  await until('alice to get bob\'s message', () => alice.evaluate(() => window.t.got.some((m) => m.type === 'message' && m.data === 'while you were away')));
  const carolSaw = await carol.evaluate((alice) => window.t.got.filter((m) => (m.type === 'peer-left' || m.type === 'peer-joined') && m.id === alice), ids.alice);
  if (carolSaw.length > 0) throw new Error(`carol saw ${JSON.stringify(carolSaw)}`);
  const before = (await carol.evaluate(() => window.t.media())).frames;
  await until('the call to go on', async () => (await carol.evaluate(() => window.t.media())).frames > before);
  step('alice resumed', { id: resumedId, refusedRequests: refused, transport: await transport(alice), errors: await alice.evaluate(() => window.t.errors) });
  result.ok = true;
} catch (error) {
  result.problem = error.message;
  exitCode = error.message.startsWith('browserType.launch') ? 2 : 1;
} finally {
  clearTimeout(overall);
  await browser?.close().catch(() => {});
}
result.steps = steps;
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(exitCode);
