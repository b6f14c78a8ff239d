// Drives Debian's Firefox ESR over WebDriver BiDi, the protocol Firefox itself serves, with the
// few page operations the demo test needs: goto, evaluate, waitForFunction. Each "context" is a
// BiDi user context (its own cookies and storage) with one tab, like a Playwright context.
//
// playwright-core's own Firefox-over-BiDi support needs protocol commands Firefox ESR does not
// have yet, so this speaks the protocol directly (https://w3c.github.io/webdriver-bidi/).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

// Fake camera and microphone without a prompt; loopback ICE candidates and TURN servers (every
// test address is on loopback); nothing that phones home.
const prefs = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'browser.shell.checkDefaultBrowser': false,
  'app.update.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.update.enabled': false,
  'browser.region.network.url': '',
  'browser.search.geoip.url': '',
  'services.settings.server': 'http://127.0.0.1:9/',
};

export async function launchFirefox({ executablePath, headless = true, timeoutMs = 30000 }) {
  const profile = mkdtempSync(join(tmpdir(), 'turn-firefox-'));
  writeFileSync(join(profile, 'user.js'), Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n');
  const args = ['--remote-debugging-port', '0', '--profile', profile, '--no-remote'];
  if (headless) args.push('--headless');
  const child = spawn(executablePath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`firefox did not start its WebDriver BiDi server within ${timeoutMs} ms: ${output.slice(-2000)}`)), timeoutMs);
    const scan = (chunk) => {
      output += chunk.toString();
      const match = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', scan);
    child.stderr.on('data', scan);
    child.on('exit', (code) => reject(new Error(`firefox exited with ${code} before serving WebDriver BiDi: ${output.slice(-2000)}`)));
  });

  const socket = new WebSocket(`${endpoint}/session`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const session = new Session(socket);
  const created = await session.send('session.new', { capabilities: { alwaysMatch: { acceptInsecureCerts: true } } });
  return new FirefoxBrowser(session, child, profile, created.capabilities?.browserVersion ?? 'firefox');
}

class Session {
  constructor(socket) {
    this.socket = socket;
    this.nextId = 1;
    this.pending = new Map();
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.id === undefined) return;  // events are not subscribed to
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.type === 'error') waiter.reject(new Error(`${message.error}: ${message.message}`));
      else waiter.resolve(message.result);
    });
    socket.on('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('the WebDriver BiDi connection closed'));
      this.pending.clear();
    });
  }

  send(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}

class FirefoxBrowser {
  constructor(session, child, profile, version) {
    this.session = session;
    this.child = child;
    this.profile = profile;
    this.browserVersion = version;
  }

  version() {
    return this.browserVersion;
  }

  async newContext() {
    const { userContext } = await this.session.send('browser.createUserContext', {});
    return {
      newPage: async () => {
        const { context } = await this.session.send('browsingContext.create', { type: 'tab', userContext });
        return new FirefoxPage(this.session, context);
      },
    };
  }

  async close() {
    try {
      await Promise.race([this.session.send('browser.close', {}), new Promise((resolve) => setTimeout(resolve, 3000))]);
    } catch {
      // Closing ends the connection; an error here says nothing.
    }
    this.session.socket.close();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    rmSync(this.profile, { recursive: true, force: true });
  }
}

class FirefoxPage {
  constructor(session, context) {
    this.session = session;
    this.context = context;
  }

  on() {
    // Page errors are not subscribed to; failures show up as failed evaluations.
  }

  async goto(url) {
    await this.session.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  // Runs fn(arg) in the page and returns its (awaited) result, passed back as JSON.
  async evaluate(fn, arg) {
    const functionDeclaration = `async (argJson) => JSON.stringify(await (${fn.toString()})(JSON.parse(argJson)) ?? null)`;
    const result = await this.session.send('script.callFunction', {
      functionDeclaration,
      arguments: [{ type: 'string', value: JSON.stringify(arg ?? null) }],
      target: { context: this.context },
      awaitPromise: true,
      resultOwnership: 'none',
    }).catch((error) => { throw new Error(`evaluate failed: ${error.message}`); });
    if (result.type === 'exception') throw new Error(`page threw: ${result.exceptionDetails?.text ?? JSON.stringify(result.exceptionDetails)}`);
    return JSON.parse(result.result.value);
  }

  async waitForFunction(fn, arg, { timeout = 15000 } = {}) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      try {
        if (await this.evaluate(fn, arg)) return;
      } catch {
        // The page may still be loading.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`waitForFunction timed out after ${timeout} ms: ${fn.toString().slice(0, 120)}`);
  }
}
