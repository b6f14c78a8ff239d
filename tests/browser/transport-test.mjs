// transport-test.mjs: signal.js's choice of transport in 'auto', with a scripted WebSocket and no
// browser or server. Prints one JSON line {"ok":true,...} and exits 0, or says what failed and exits 1.
//
//  1. A WebSocket that fails before any has opened: the way is blocked, the client falls back to
//     the HTTP transport (its requests go to 127.0.0.1:9, which refuses them).
//  2. A WebSocket that opened, dropped, and whose next attempt fails: the server or the network
//     went away for a while; the client stays on WebSockets and tries one again.
//
// Usage: node transport-test.mjs

import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const { connect } = await import(pathToFileURL(path.join(here, '../../src/Signal/wwwroot/signal.js')).href);

/** A WebSocket whose instances do what `script` says, in order: 'open' or 'fail'. */
function scriptedWebSocket(script) {
  const made = [];
  class Scripted {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      const step = script[made.length] ?? 'fail';
      made.push(this);
      setTimeout(() => {
        if (step === 'open') {
          this.readyState = 1;
          this.onopen?.();
          // Dropped a moment later, as by a restarting server.
          setTimeout(() => { this.readyState = 3; this.onclose?.({ code: 1006, reason: '' }); }, 20);
        } else {
          this.readyState = 3;
          this.onclose?.({ code: 1006, reason: '' });
        }
      }, 5);
    }
    send() {}
    close() { this.readyState = 3; }
  }
  return { Scripted, made };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fail = (why) => { process.stdout.write(JSON.stringify({ ok: false, why }) + '\n'); process.exit(1); };
const options = { minDelayMs: 10, maxDelayMs: 20, connectTimeoutMs: 1000 };

// 1. Blocked from the start.
{
  const { Scripted, made } = scriptedWebSocket(['fail']);
  const client = connect('ws://127.0.0.1:9/signal', { ...options, WebSocket: Scripted });
  await sleep(200);
  const transport = client.transport;
  client.close();
  if (transport !== 'polling' || made.length !== 1) fail(`blocked: transport ${transport} after ${made.length} WebSockets`);
}

// 2. Worked once, then a failed attempt.
let attempts;
{
  const { Scripted, made } = scriptedWebSocket(['open', 'fail', 'fail']);
  const client = connect('ws://127.0.0.1:9/signal', { ...options, WebSocket: Scripted });
  await sleep(400);
  const transport = client.transport;
  attempts = made.length;
  client.close();
  if (transport !== 'websocket' || attempts < 3) fail(`worked once: transport ${transport} after ${attempts} WebSockets`);
}

process.stdout.write(JSON.stringify({ ok: true, attempts }) + '\n');
process.exit(0);
