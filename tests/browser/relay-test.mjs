#!/usr/bin/env node
// Headless Chromium relays a WebRTC data channel through a TURN server.
//
// For each TURN URL, one page opens two RTCPeerConnections (pc1, pc2) with
// iceTransportPolicy 'relay' and that URL as their only ICE server, trades SDP and
// candidates in the page, opens an ordered data channel, sends numbered messages
// pc1 -> pc2, checks they all arrive in order, and reads getStats(): the selected
// candidate pair of each connection must have a local and a remote candidate of
// type 'relay'. One JSON line per URL goes to stdout; the exit code is 0 only when
// every URL passed.
//
// Usage:
//   node relay-test.mjs --url 'turn:127.0.0.1:3478?transport=udp' \
//       [--url 'turns:127.0.0.1:5349?transport=tcp' ...] \
//       --username alice --credential alicepw \
//       [--messages 1000] [--timeout-ms 30000] [--ignore-certificate-errors] \
//       [--chromium /usr/bin/chromium]
// Every option may also come from the environment: RELAY_TEST_URLS (comma-separated),
// RELAY_TEST_USERNAME, RELAY_TEST_CREDENTIAL, RELAY_TEST_MESSAGES, RELAY_TEST_TIMEOUT_MS,
// RELAY_TEST_IGNORE_CERTIFICATE_ERRORS=1, RELAY_TEST_CHROMIUM.
//
// Needs Debian's chromium (apt-get install -y chromium) and this folder's packages
// (npm ci --prefix tests/browser). It never downloads a browser.

import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

function fail(message, code = 2) {
  process.stderr.write(`relay-test: ${message}\n`);
  process.exit(code);
}

const env = process.env;
let parsed;
try {
  parsed = parseArgs({
    options: {
      url: { type: 'string', multiple: true },
      username: { type: 'string' },
      credential: { type: 'string' },
      messages: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'ignore-certificate-errors': { type: 'boolean' },
      chromium: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (error) {
  fail(`${error.message}; see the usage at the top of relay-test.mjs`);
}
if (parsed.help) {
  process.stdout.write('node relay-test.mjs --url TURN_URL [--url ...] --username U --credential P [--messages N] [--timeout-ms MS] [--ignore-certificate-errors] [--chromium PATH]\n');
  process.exit(0);
}

const urls = parsed.url ?? (env.RELAY_TEST_URLS ? env.RELAY_TEST_URLS.split(',').map(s => s.trim()).filter(Boolean) : []);
const username = parsed.username ?? env.RELAY_TEST_USERNAME;
const credential = parsed.credential ?? env.RELAY_TEST_CREDENTIAL;
const messages = Number(parsed.messages ?? env.RELAY_TEST_MESSAGES ?? 1000);
const timeoutMs = Number(parsed['timeout-ms'] ?? env.RELAY_TEST_TIMEOUT_MS ?? 30000);
const ignoreCertificateErrors = parsed['ignore-certificate-errors'] ?? ['1', 'true', 'yes'].includes((env.RELAY_TEST_IGNORE_CERTIFICATE_ERRORS ?? '').toLowerCase());
const executablePath = parsed.chromium ?? env.RELAY_TEST_CHROMIUM ?? '/usr/bin/chromium';

if (urls.length === 0) fail('no TURN URL: pass --url turn:HOST:PORT?transport=udp (repeatable) or RELAY_TEST_URLS');
if (!username || credential === undefined) fail('no credentials: pass --username and --credential');
if (!Number.isInteger(messages) || messages < 1) fail(`--messages must be a positive integer, not ${messages}`);
if (!Number.isFinite(timeoutMs) || timeoutMs < 1000) fail(`--timeout-ms must be at least 1000, not ${timeoutMs}`);

/** The host of a turn:/turns: URL (RFC 7065): turn:HOST[:PORT][?transport=udp|tcp], HOST may be [v6]. */
function turnHost(url) {
  const match = /^turns?:(\[[^\]]+\]|[^:?]+)/i.exec(url);
  if (!match) fail(`not a turn: or turns: URL: ${url}`);
  return match[1];
}

if (!existsSync(executablePath)) {
  fail(`${executablePath} does not exist: install Debian's Chromium with \`apt-get install -y chromium\``);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (error) {
  fail(`cannot load playwright-core (${error.message}): run \`npm ci --prefix tests/browser\``);
}

// Chromium resolves the TURN host even when it is an IP literal; without an EXCLUDE for
// it, ?transport=tcp fails with error 701. MAP * ~NOTFOUND also keeps it off the network.
const hosts = [...new Set(urls.map(turnHost))];
const resolverRules = ['MAP * ~NOTFOUND', 'EXCLUDE localhost', ...hosts.map(h => `EXCLUDE ${h}`)].join(', ');
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--host-resolver-rules=${resolverRules}`,
];
if (ignoreCertificateErrors) args.push('--ignore-certificate-errors');

// A fresh profile for every run, removed at the end (launchPersistentContext passes it as --user-data-dir).
const userDataDir = mkdtempSync(join(tmpdir(), 'turn-relay-chromium-'));

/** Runs inside the page: one relayed call through `iceServers`, returning what it saw. */
async function relayCall({ iceServers, messages, timeoutMs }) {
  const started = performance.now();
  const events = [];
  const log = (what) => events.push(`${Math.round(performance.now() - started)}ms ${what}`);
  const candidateErrors = [];
  const gathered = { pc1: [], pc2: [] };
  const config = { iceServers, iceTransportPolicy: 'relay' };
  const pc1 = new RTCPeerConnection(config);
  const pc2 = new RTCPeerConnection(config);

  // Fails the call at once when a side finished gathering without a single relay
  // candidate (e.g. every allocation failed with 701), instead of waiting for the deadline.
  let rejectNoCandidates;
  const noCandidates = new Promise((_, reject) => { rejectNoCandidates = reject; });
  noCandidates.catch(() => {});
  function wire(name, pc, other) {
    pc.onicecandidate = (e) => {
      if (!e.candidate) {
        log(`${name} gathering complete`);
        if (gathered[name].length === 0) {
          const why = candidateErrors.filter((c) => c.pc === name).map((c) => `${c.errorCode} ${c.errorText}`).join('; ');
          rejectNoCandidates(new Error(`${name} gathered no relay candidate${why ? ` (icecandidateerror: ${why})` : ''}`));
        }
        return;
      }
      gathered[name].push(e.candidate.candidate);
      other.addIceCandidate(e.candidate).catch((err) => log(`${name} -> addIceCandidate failed: ${err}`));
    };
    pc.onicecandidateerror = (e) => {
      candidateErrors.push({ pc: name, url: e.url, errorCode: e.errorCode, errorText: e.errorText, address: e.address, port: e.port });
      log(`${name} icecandidateerror ${e.errorCode} ${e.errorText} (${e.url})`);
    };
    pc.oniceconnectionstatechange = () => log(`${name} ice ${pc.iceConnectionState}`);
    pc.onconnectionstatechange = () => log(`${name} connection ${pc.connectionState}`);
  }
  wire('pc1', pc1, pc2);
  wire('pc2', pc2, pc1);

  const received = [];
  let outOfOrder = null;
  let resolveAll;
  const allReceived = new Promise((resolve) => { resolveAll = resolve; });
  const channelOpen2 = new Promise((resolve) => {
    pc2.ondatachannel = (e) => {
      const dc2 = e.channel;
      dc2.onmessage = (m) => {
        const expected = `msg-${received.length}`;
        if (m.data !== expected && outOfOrder === null) outOfOrder = { index: received.length, expected, got: m.data };
        received.push(m.data);
        if (received.length === messages) resolveAll();
      };
      dc2.onopen = () => resolve(dc2);
      if (dc2.readyState === 'open') resolve(dc2);
    };
  });
  const dc1 = pc1.createDataChannel('relay-test', { ordered: true });
  const channelOpen1 = new Promise((resolve) => { dc1.onopen = () => resolve(); });

  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });

  async function statsOf(pc) {
    const stats = await pc.getStats();
    const byId = new Map();
    stats.forEach((r) => byId.set(r.id, r));
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId && byId.has(r.selectedCandidatePairId)) pair = byId.get(r.selectedCandidatePairId);
    });
    let selectedBy = 'transport.selectedCandidatePairId';
    if (!pair) {
      selectedBy = 'candidate-pair nominated+succeeded';
      stats.forEach((r) => {
        if (!pair && r.type === 'candidate-pair' && (r.selected || r.nominated) && r.state === 'succeeded') pair = r;
      });
    }
    if (!pair) return { selectedBy: null };
    const describe = (c) => c && ({
      candidateType: c.candidateType,
      protocol: c.protocol,
      relayProtocol: c.relayProtocol ?? null,
      address: c.address ?? c.ip,
      port: c.port,
      url: c.url ?? null,
    });
    return {
      selectedBy,
      state: pair.state,
      local: describe(byId.get(pair.localCandidateId)),
      remote: describe(byId.get(pair.remoteCandidateId)),
    };
  }

  let error = null;
  try {
    await Promise.race([(async () => {
      const offer = await pc1.createOffer();
      await pc1.setLocalDescription(offer);
      await pc2.setRemoteDescription(offer);
      const answer = await pc2.createAnswer();
      await pc2.setLocalDescription(answer);
      await pc1.setRemoteDescription(answer);
      await Promise.all([channelOpen1, channelOpen2]);
      log('data channel open');
      for (let i = 0; i < messages; i++) {
        // Small messages; keep the send buffer bounded anyway.
        while (dc1.bufferedAmount > 1 << 20) await new Promise((r) => setTimeout(r, 5));
        dc1.send(`msg-${i}`);
      }
      log(`sent ${messages}`);
      await allReceived;
      log(`received ${received.length}`);
    })(), deadline, noCandidates]);
  } catch (e) {
    error = String(e && e.message ? e.message : e);
  } finally {
    clearTimeout(timer);
  }

  const result = {
    error,
    sent: error === null ? messages : null,
    received: received.length,
    inOrder: outOfOrder === null && received.length === messages,
    outOfOrder,
    pc1: await statsOf(pc1),
    pc2: await statsOf(pc2),
    iceConnectionState: { pc1: pc1.iceConnectionState, pc2: pc2.iceConnectionState },
    candidateErrors,
    gathered,
    events,
    elapsedMs: Math.round(performance.now() - started),
  };
  pc1.close();
  pc2.close();
  return result;
}

/** Why a call's result is not a success, or null when it is one. */
function problem(result) {
  if (result.error) return result.error;
  if (result.received !== messages) return `received ${result.received} of ${messages} messages`;
  if (!result.inOrder) return `messages out of order: ${JSON.stringify(result.outOfOrder)}`;
  for (const name of ['pc1', 'pc2']) {
    const s = result[name];
    if (!s.selectedBy) return `${name}: getStats() shows no selected candidate pair`;
    if (s.local?.candidateType !== 'relay') return `${name}: selected local candidate is ${s.local?.candidateType}, not relay`;
    if (s.remote?.candidateType !== 'relay') return `${name}: selected remote candidate is ${s.remote?.candidateType}, not relay`;
  }
  return null;
}

let context;
let exitCode = 0;
// The overall bound: every URL's in-page deadline plus launch and stats time.
const overall = setTimeout(() => {
  process.stderr.write(`relay-test: the whole run exceeded ${urls.length * timeoutMs + 30000} ms\n`);
  process.exit(3);
}, urls.length * timeoutMs + 30000);
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args,
    timeout: 30000,
  });
  const page = context.pages()[0] ?? await context.newPage();
  await page.goto('about:blank');
  const userAgent = await page.evaluate(() => navigator.userAgent);
  for (const url of urls) {
    const iceServers = [{ urls: url, username, credential }];
    let result;
    try {
      result = await page.evaluate(relayCall, { iceServers, messages, timeoutMs });
    } catch (error) {
      result = { error: `page.evaluate failed: ${error.message}` };
    }
    const why = problem(result);
    const line = {
      url,
      ok: why === null,
      problem: why,
      messages,
      received: result.received ?? 0,
      inOrder: result.inOrder ?? false,
      relayProtocol: result.pc1?.local?.relayProtocol ?? null,
      pc1: result.pc1 ?? null,
      pc2: result.pc2 ?? null,
      elapsedMs: result.elapsedMs ?? null,
      browser: userAgent,
    };
    if (why !== null) {
      Object.assign(line, {
        iceConnectionState: result.iceConnectionState,
        candidateErrors: result.candidateErrors,
        gathered: result.gathered,
        events: result.events,
      });
      exitCode = 1;
      process.stderr.write(`relay-test: ${url}: FAILED: ${why}\n`);
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
} catch (error) {
  process.stderr.write(`relay-test: could not run Chromium (${executablePath}): ${error.message}\n`);
  exitCode = 2;
} finally {
  clearTimeout(overall);
  if (context) await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(exitCode);
