// signal.js: the browser client of turn's signaling protocol (v1, docs/signaling.md).
// A dependency-free ES module; serve it from the daemon at /signal.js:
//
//   import { connect } from '/signal.js';
//   const client = connect();                       // ws(s)://<this host>/signal
//   client.on('peer-joined', ({ peer }) => console.log('hello', peer.name ?? peer.id));
//   client.on('offer', async ({ from, data }) => { ... client.answer(from, answer); });
//   const joined = await client.join('room-1', { name: 'Ann' });
//   const pc = new RTCPeerConnection({ iceServers: client.iceServers });
//
// Where WebSockets do not get through (a proxy refuses the upgrade), it falls back by itself to
// plain HTTP requests (long polls and posts) for the same protocol; connect(url, {transport})
// chooses one.
//
// When the socket drops without close() or leave(), the client reconnects with backoff and
// resumes its seat ({type:"join", resume}): same id, fresh iceServers, the messages addressed
// to it meanwhile, and the other peers see no leave/join. When the grace window has passed it
// emits 'resume-failed' and joins the same room afresh (a new id; 'joined' again).

/** Protocol version this client speaks (the "v" of the joined message). */
export const PROTOCOL_VERSION = 1;

/**
 * @typedef {object} IceServer  One RTCIceServer: pass `client.iceServers` to RTCPeerConnection as is.
 * @property {string[]} urls
 * @property {string} [username]
 * @property {string} [credential]
 *
 * @typedef {object} PeerInfo  Another member of the room.
 * @property {string} id
 * @property {string} [name]
 * @property {*} [meta]  Whatever JSON the peer passed to join().
 *
 * @typedef {object} JoinedMessage  The server's answer to a join or a resume.
 * @property {'joined'} type
 * @property {number} v  Protocol version (1).
 * @property {string} room
 * @property {string} id  This peer's id in the room.
 * @property {string} resumeToken
 * @property {boolean} resumed
 * @property {PeerInfo[]} peers  The others, not including this peer.
 * @property {IceServer[]} iceServers  Fresh STUN/TURN servers and credentials.
 *
 * @typedef {object} ConnectOptions
 * @property {boolean} [reconnect=true]  Reconnect and resume after an unexpected drop.
 * @property {number} [minDelayMs=250]  First reconnect delay; it doubles up to maxDelayMs (with jitter).
 * @property {number} [maxDelayMs=8000]
 * @property {number} [heartbeatMs=25000]  Sends a ping this often; 0 turns it off. Browsers cannot
 *   see WebSocket-level pings, so this is how the client notices a dead connection.
 * @property {number} [heartbeatTimeoutMs=10000]  No pong within this: the socket counts as dropped.
 * @property {number} [connectTimeoutMs=5000]  A socket not open within this is given up and retried.
 * @property {number} [outboxLength=256]  Messages kept while disconnected, sent after the resume.
 * @property {number} [iceRefreshMs=240000]  While in a room, asks for fresh iceServers at least this
 *   often, and sooner when the TURN credentials run out earlier (half-way to the expiry in their
 *   username), so `iceServers` always holds credentials that are still valid; 0 turns it off.
 * @property {'auto'|'websocket'|'polling'} [transport='auto']  How to reach the server: 'websocket';
 *   'polling', the HTTP fallback (long polls and posts, for networks whose proxies refuse WebSockets);
 *   or 'auto', a WebSocket first and the fallback when one fails before any has opened (it stays
 *   on the fallback from then on; once a WebSocket has worked, reconnects stay WebSockets). A
 *   resume works across a switch.
 * @property {typeof WebSocket} [WebSocket]  A WebSocket implementation (default: the global one).
 */

/** An error message from the server, as an Error with its code. */
export class SignalError extends Error {
  /** @param {{code: string, message: string, id?: string}} message */
  constructor(message) {
    super(message.message);
    this.name = 'SignalError';
    /** The protocol's error code: "bad-token", "room-full", "resume-failed", ... */
    this.code = message.code;
    /** The "id" of the client message it answers, if that had one. */
    this.id = message.id;
  }
}

/** Turns '/signal', 'wss://host/signal' or nothing into a ws: or wss: URL. */
function socketUrl(url) {
  const base = typeof location === 'undefined' ? undefined : location.href;
  if (url === undefined && base === undefined) throw new TypeError('connect(url): no url and no page to take the host from');
  const resolved = new URL(url ?? '/signal', base);
  if (resolved.protocol === 'http:') resolved.protocol = 'ws:';
  if (resolved.protocol === 'https:') resolved.protocol = 'wss:';
  return resolved.href;
}

/** Measures what a post carries: the server bounds it in UTF-8 bytes. */
const utf8 = new TextEncoder();

/**
 * The HTTP fallback, with the part of the WebSocket interface SignalClient uses: POST
 * {url}/poll opens a session, GET {url}/poll/{session}?ack=N long-polls for the server's messages
 * after the N-th ({seq, messages}; 410 with {code, reason} once the session is over), POST {url}/poll/{session} sends
 * messages one per line, in order, and POST .../close ends it (docs/signaling.md, "Without
 * WebSockets").
 */
export class PollingSocket {
  /** @param {string} url  The http: or https: URL of the signaling endpoint. */
  constructor(url) {
    this.url = url;
    /** 0 connecting, 1 open, 2 closing, 3 closed (as WebSocket.readyState). */
    this.readyState = 0;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    this._session = null;
    this._outbox = [];
    this._posting = null;
    this._poll = null;
    this._ack = 0;
    this._open();
  }

  async _open() {
    try {
      const response = await fetch(`${this.url}/poll`, { method: 'POST', cache: 'no-store' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const { session, pollSeconds } = await response.json();
      if (this.readyState !== 0) return;
      this._session = `${this.url}/poll/${encodeURIComponent(session)}`;
      this._pollMs = (pollSeconds + 10) * 1000;
      this.readyState = 1;
      this.onopen?.({});
      this._polling();
      this._flush();
    } catch (error) {
      this._closed(1006, `fallback: ${error.message}`);
    }
  }

  async _polling() {
    while (this.readyState === 1) {
      const abort = new AbortController();
      this._poll = abort;
      const timer = setTimeout(() => abort.abort(), this._pollMs);
      try {
        const response = await fetch(`${this._session}?ack=${this._ack}`, { cache: 'no-store', signal: abort.signal });
        if (response.status === 410) {
          const { code, reason } = await response.json().catch(() => ({}));
          this._closed(code ?? 1006, reason ?? 'session over');
          return;
        }
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        // Numbered: a batch sent again (its response was lost) is not delivered twice.
        const { seq, messages } = await response.json();
        const first = seq - messages.length + 1;
        for (let i = Math.max(0, this._ack + 1 - first); i < messages.length; i++) {
          if (this.readyState !== 1) return;
          this.onmessage?.({ data: JSON.stringify(messages[i]) });
        }
        this._ack = Math.max(this._ack, seq);
      } catch (error) {
        if (this.readyState === 1) this._closed(1006, `poll failed: ${error.message}`);
        return;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Queues a message; posts go one at a time, each with everything queued so far. */
  send(text) {
    if (this.readyState !== 1) throw new Error('not open');
    this._outbox.push(text);
    this._flush();
  }

  _flush() {
    if (this._posting || this._outbox.length === 0 || this.readyState !== 1) return;
    // Up to 32 KB of UTF-8 a post (the server takes 64 KB): what is left goes in the next one.
    let count = 0;
    for (let bytes = 0; count < this._outbox.length; count++) {
      const size = utf8.encode(this._outbox[count]).length + 1;
      if (count > 0 && bytes + size > 32768) break;
      bytes += size;
    }
    const body = this._outbox.splice(0, count).join('\n');
    this._posting = this._post(body).then(() => {
      this._posting = null;
      this._flush();
    }, (error) => {
      this._posting = null;
      this._closed(1006, `post failed: ${error.message}`);
    });
  }

  async _post(body, keepalive = false) {
    const response = await fetch(this._session, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' }, cache: 'no-store', keepalive });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  }

  /**
   * Ends the session after what was sent before (a leave, say) has been posted: the server sees
   * a closed connection, so a peer still in a room is away, not gone.
   */
  close(code = 1000, reason = '') {
    if (this.readyState >= 2) return;
    const session = this._session;
    const before = this._posting ?? Promise.resolve();
    const rest = this._outbox.join('\n');
    this._outbox = [];
    this._closed(code, reason);
    if (!session) return;
    before
      .then(() => (rest ? this._post(rest, true) : undefined))
      .catch(() => {})
      .then(() => fetch(`${session}/close`, { method: 'POST', keepalive: true }))
      .catch(() => {});
  }

  _closed(code, reason) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this._poll?.abort();
    this.onclose?.({ code, reason });
  }
}

/**
 * Opens a signaling connection. The socket opens in the background; join() waits for it.
 * @param {string} [url]  Default: same origin, ws(s)://host/signal. Relative URLs resolve against the page.
 * @param {ConnectOptions} [options]
 * @returns {SignalClient}
 */
export function connect(url, options = {}) {
  return new SignalClient(socketUrl(url), options);
}

/**
 * A connection to the signaling server that rejoins by itself. Events (subscribe with on()):
 *
 * | event          | argument                               | when |
 * |----------------|----------------------------------------|------|
 * | 'joined'       | JoinedMessage                          | a fresh join (also the rejoin after 'resume-failed'): |
 * |                |                                        | a new id and a full `peers` list |
 * | 'resumed'      | JoinedMessage (resumed: true)          | the seat is back after a drop; same id |
 * | 'resume-failed'| {previousId, room}                     | the grace window had passed: the seat, its calls and |
 * |                |                                        | `peers` are gone; a fresh join (and 'joined') follows |
 * | 'ice-servers'  | {type, iceServers}                     | `iceServers` was refreshed (see refreshIceServers) |
 * | 'peer-joined'  | {type, peer: PeerInfo}                 | someone joined (never twice for one id) |
 * | 'peer-left'    | {type, id, peer?: PeerInfo}            | someone left or their grace window ran out |
 * | 'offer', 'answer', 'candidate', 'message' | {type, from, data} | addressed to this peer |
 * | 'broadcast'    | {type, from, data}                     | sent to the room; from is "server" for HTTP pushes |
 * | 'error'        | SignalError                            | an error message from the server (resume-failed is |
 * |                |                                        | handled as above); join() also rejects with it |
 * | 'disconnected' | {code, reason, willReconnect}          | the socket closed |
 * | 'state'        | state string                           | `state` changed |
 * | '*'            | every server message object            | raw access |
 */
export class SignalClient {
  /** @param {string} url @param {ConnectOptions} options */
  constructor(url, options) {
    /** The ws:/wss: URL. */
    this.url = url;
    this.options = {
      reconnect: true, minDelayMs: 250, maxDelayMs: 8000,
      heartbeatMs: 25000, heartbeatTimeoutMs: 10000, connectTimeoutMs: 5000, outboxLength: 256, iceRefreshMs: 240000,
      transport: 'auto',
      ...options,
    };
    /** 'websocket' or 'polling' (the HTTP fallback): what the current or next connection uses. */
    this.transport = this.options.transport === 'polling' || (this.options.transport === 'auto' && !(this.options.WebSocket ?? globalThis.WebSocket))
      ? 'polling'
      : 'websocket';
    /** 'connecting' | 'open' (not in a room) | 'joined' | 'reconnecting' | 'closed' */
    this.state = 'connecting';
    /** This peer's id while in a room, else null. Unchanged by a resume. @type {string|null} */
    this.id = null;
    /** The room's name while in one. @type {string|null} */
    this.room = null;
    /** The other peers of the room by id. @type {Map<string, PeerInfo>} */
    this.peers = new Map();
    /** The latest iceServers (fresh after every join and resume). @type {IceServer[]} */
    this.iceServers = [];
    /** The token that resumes the seat; kept in memory only. @type {string|null} */
    this.resumeToken = null;
    /** The current WebSocket (replaced on every reconnect). @type {WebSocket|null} */
    this.socket = null;
    /** How many times the seat was resumed. */
    this.resumeCount = 0;

    this._handlers = new Map();
    this._outbox = [];
    this._pendingJoin = null;   // {room, name, meta, token, id, resolve, reject}
    this._joinArgs = null;      // what to join again after resume-failed
    this._pings = new Map();
    this._seq = 0;
    this._attempt = 0;
    this._reconnectTimer = null;
    this._heartbeatTimer = null;
    this._iceTimer = null;
    this._iceRequests = new Map();
    this._open();
  }

  // ---- events ----------------------------------------------------------------------------

  /**
   * Subscribes to an event (see the class comment); returns a function that unsubscribes.
   * @param {string} type @param {(arg: any) => void} handler @returns {() => void}
   */
  on(type, handler) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(handler);
    return () => this.off(type, handler);
  }

  /** Removes a handler added with on(). */
  off(type, handler) {
    this._handlers.get(type)?.delete(handler);
  }

  _emit(type, arg) {
    for (const handler of [...(this._handlers.get(type) ?? [])]) {
      try {
        handler(arg);
      } catch (error) {
        setTimeout(() => { throw error; });  // reported, but never breaks the client
      }
    }
  }

  _setState(state) {
    if (this.state !== state) {
      this.state = state;
      this._emit('state', state);
    }
  }

  // ---- requests --------------------------------------------------------------------------

  /**
   * Joins a room. Resolves with the joined message; rejects with a SignalError ("room-full",
   * "bad-token", "too-many-rooms", "draining", "already-joined", "bad-request").
   * @param {string} room  1 to 128 characters.
   * @param {{name?: string, meta?: *, token?: string}} [options]  name: up to 128 characters;
   *   meta: any JSON up to 4 KB, shown to the others; token: a join token when the server needs one.
   * @returns {Promise<JoinedMessage>}
   */
  join(room, { name, meta, token } = {}) {
    if (this.state === 'closed') return Promise.reject(new Error('the client is closed'));
    if (this._pendingJoin) return Promise.reject(new Error('a join is already under way'));
    if (this.id !== null) return Promise.reject(new Error(`already in room "${this.room}"; leave() first`));
    return new Promise((resolve, reject) => {
      this._pendingJoin = { room, name, meta, token, id: `join-${++this._seq}`, resolve, reject };
      this._sendJoin();
    });
  }

  /** Sends an addressed message: type is 'offer', 'answer', 'candidate' or 'message'. */
  send(to, type, data) {
    this._send({ type, to, data });
  }

  /** Sends an SDP offer (e.g. pc.localDescription) to one peer. */
  offer(to, description) { this.send(to, 'offer', description); }

  /** Sends an SDP answer to one peer. */
  answer(to, description) { this.send(to, 'answer', description); }

  /** Sends an ICE candidate (RTCIceCandidate or its toJSON()) to one peer. */
  candidate(to, candidate) { this.send(to, 'candidate', candidate); }

  /** Sends application data to one peer; it gets a 'message' event. */
  message(to, data) { this.send(to, 'message', data); }

  /** Sends data to every other peer of the room; they get a 'broadcast' event. */
  broadcast(data) {
    this._send({ type: 'broadcast', data });
  }

  /** Round trip to the server; resolves with the time in milliseconds, rejects when not connected. */
  ping() {
    if (this.socket?.readyState !== 1) return Promise.reject(new Error('not connected'));
    const id = `ping-${++this._seq}`;
    const started = Date.now();
    return new Promise((resolve, reject) => {
      this._pings.set(id, { resolve: () => resolve(Date.now() - started), reject });
      this.socket.send(JSON.stringify({ type: 'ping', id }));
    });
  }

  /**
   * Asks for fresh iceServers (new TURN credentials) for this peer; resolves with them and
   * updates `iceServers`. Rejects when not in a room, or with the server's error (rate-limited).
   */
  refreshIceServers() {
    if (this.state !== 'joined' || this.socket?.readyState !== 1) return Promise.reject(new Error('not in a room'));
    const id = `ice-${++this._seq}`;
    return new Promise((resolve, reject) => {
      this._iceRequests.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ type: 'ice-servers', id }));
    });
  }

  /**
   * Leaves the room at once (the others get peer-left); the connection stays open for another
   * join. While disconnected the seat cannot be given up: it lapses after the grace window.
   */
  leave() {
    if (this.id !== null && this.socket?.readyState === 1) this.socket.send('{"type":"leave"}');
    this._resetRoom();
    if (this.state === 'joined') this._setState('open');
  }

  /** Leaves the room and closes the connection for good. */
  close() {
    if (this.state === 'closed') return;
    this._setState('closed');
    this.leave();
    clearTimeout(this._reconnectTimer);
    this._stopHeartbeat();
    const socket = this.socket;
    this._detach(socket);
    this.socket = null;
    socket?.close(1000, 'bye');
    this._pendingJoin?.reject(new Error('the client was closed'));
    this._pendingJoin = null;
    this._emit('disconnected', { code: 1000, reason: 'closed by the client', willReconnect: false });
  }

  /**
   * For tests and diagnostics: drops the socket as a network failure would and waits holdMs
   * before the first reconnect attempt.
   */
  simulateDrop(holdMs = 0) {
    this._lost(4000, 'simulated drop', holdMs);
  }

  // ---- the socket ------------------------------------------------------------------------

  _open() {
    let socket;
    try {
      socket = this.transport === 'polling'
        ? new PollingSocket(this.url.replace(/^ws/, 'http'))
        : new (this.options.WebSocket ?? globalThis.WebSocket)(this.url);
    } catch (error) {
      // A WebSocket that cannot even be constructed (blocked by policy or by the page).
      socket = { readyState: 0, close() {} };
      setTimeout(() => { if (this.socket === socket) this._lost(1006, `no WebSocket: ${error.message}`); });
    }
    this.socket = socket;
    const connectTimer = setTimeout(() => {
      if (this.socket === socket && socket.readyState === 0) this._lost(4002, 'connect timeout');
    }, this.options.connectTimeoutMs);
    socket.onopen = () => {
      clearTimeout(connectTimer);
      if (this.transport === 'websocket') this._webSocketOpened = true;
      this._attempt = 0;
      this._startHeartbeat();
      if (this.resumeToken !== null) {
        socket.send(JSON.stringify({ type: 'join', resume: this.resumeToken, id: `resume-${++this._seq}` }));
      } else {
        this._setState('open');
        if (this._pendingJoin) this._sendJoin();
        else if (this._joinArgs) this._rejoin();
        else this._flushOutbox();
      }
    };
    socket.onmessage = (event) => this._receive(event.data);
    socket.onclose = (event) => {
      clearTimeout(connectTimer);
      this._lost(event.code, event.reason);
    };
    socket.onerror = () => {};  // a close follows
  }

  _detach(socket) {
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
  }

  /** The socket is gone without close(): reconnect (and resume) unless told not to. */
  _lost(code, reason, holdMs = 0) {
    if (this.state === 'closed') return;
    const socket = this.socket;
    // In 'auto', a WebSocket that fails before any has opened means the way is blocked: the
    // fallback from now on. Once one has worked, a failure is the server or the network going
    // away for a while, and the next attempt is a WebSocket again.
    if (this.options.transport === 'auto' && this.transport === 'websocket' && !this._webSocketOpened) {
      this.transport = 'polling';
      this._attempt = 0;
      holdMs = 0;
    }
    this._detach(socket);
    this.socket = null;
    this._stopHeartbeat();
    // A dead connection may take long to finish its closing handshake; do not wait for it.
    if (socket && socket.readyState <= 1) {
      try { socket.close(4000, reason); } catch { /* already closing */ }
    }
    for (const ping of this._pings.values()) ping.reject(new Error('disconnected'));
    this._pings.clear();
    for (const refresh of this._iceRequests.values()) refresh.reject(new Error('disconnected'));
    this._iceRequests.clear();
    const willReconnect = this.options.reconnect !== false;
    this._setState(willReconnect ? 'reconnecting' : 'closed');
    this._emit('disconnected', { code, reason, willReconnect });
    if (!willReconnect) {
      this._pendingJoin?.reject(new Error('disconnected'));
      this._pendingJoin = null;
      return;
    }
    const { minDelayMs, maxDelayMs } = this.options;
    const delay = Math.max(holdMs, Math.min(maxDelayMs, minDelayMs * 2 ** this._attempt) * (0.75 + Math.random() / 2));
    this._attempt = Math.min(this._attempt + 1, 16);
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = setTimeout(() => {
      if (this.state === 'reconnecting') this._open();
    }, delay);
  }

  _startHeartbeat() {
    this._stopHeartbeat();
    const { heartbeatMs, heartbeatTimeoutMs } = this.options;
    if (!heartbeatMs) return;
    this._heartbeatTimer = setInterval(() => {
      const socket = this.socket;
      let answered = false;
      this.ping().then(() => { answered = true; }, () => {});
      setTimeout(() => {
        if (!answered && this.socket === socket && socket) this._lost(4001, 'no pong');
      }, heartbeatTimeoutMs);
    }, heartbeatMs);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeatTimer);
    this._heartbeatTimer = null;
  }

  /** Sends now when connected and not resuming, else keeps it for after the (re)join. */
  _send(message) {
    if (this.state === 'closed') return;
    if (this.socket?.readyState === 1 && (this.state === 'joined' || this.state === 'open')) {
      this.socket.send(JSON.stringify(message));
    } else {
      if (this._outbox.length >= this.options.outboxLength) this._outbox.shift();
      this._outbox.push(message);
    }
  }

  _flushOutbox() {
    const outbox = this._outbox;
    this._outbox = [];
    for (const message of outbox) this._send(message);
  }

  _sendJoin() {
    const join = this._pendingJoin;
    if (!join || this.socket?.readyState !== 1 || this.resumeToken !== null) return;
    const message = { type: 'join', room: join.room, id: join.id };
    if (join.name !== undefined) message.name = join.name;
    if (join.meta !== undefined) message.meta = join.meta;
    if (join.token !== undefined) message.token = join.token;
    this.socket.send(JSON.stringify(message));
  }

  /** After resume-failed: the same join again, as a new peer. */
  _rejoin() {
    const args = this._joinArgs;
    this.join(args.room, args).catch(() => {});  // its error is emitted as 'error' too
  }

  /**
   * Takes new iceServers. One without TURN credentials (a resume past the address's credential
   * rate) keeps the TURN entries held so far; the next refresh is scheduled half-way to expiry.
   */
  _setIceServers(servers) {
    const turn = (list) => list.filter((s) => s.username);
    this.iceServers = turn(servers).length === 0 && turn(this.iceServers).length > 0
      ? [...servers, ...turn(this.iceServers)]
      : servers;
    clearTimeout(this._iceTimer);
    if (!this.options.iceRefreshMs) return;
    const expiry = Math.min(...turn(this.iceServers).map((s) => Number(String(s.username).split(':')[0])).filter(Number.isFinite));
    const halfway = Number.isFinite(expiry) ? ((expiry * 1000) - Date.now()) / 2 : Infinity;
    const delay = Math.max(15000, Math.min(this.options.iceRefreshMs, halfway));
    // A refresh that fails (disconnected, rate-limited) is tried again later while the seat is held.
    this._iceTimer = setTimeout(() => this.refreshIceServers().catch(() => {
      if (this.id !== null) this._setIceServers(this.iceServers);
    }), delay);
  }

  _resetRoom() {
    clearTimeout(this._iceTimer);
    this._iceTimer = null;
    this.id = null;
    this.room = null;
    this.resumeToken = null;
    this.peers = new Map();
    this._joinArgs = null;
  }

  // ---- server messages -------------------------------------------------------------------

  _receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    this._emit('*', message);
    switch (message.type) {
      case 'joined':
        this._joined(message);
        break;
      case 'peer-joined':
        if (!this.peers.has(message.peer.id)) {
          this.peers.set(message.peer.id, message.peer);
          this._emit('peer-joined', message);
        }
        break;
      case 'peer-left': {
        const peer = this.peers.get(message.id);
        if (peer) {
          this.peers.delete(message.id);
          this._emit('peer-left', { ...message, peer });
        }
        break;
      }
      case 'pong':
        this._pings.get(message.id)?.resolve();
        this._pings.delete(message.id);
        break;
      case 'ice-servers':
        this._setIceServers(message.iceServers);
        this._iceRequests.get(message.id)?.resolve(message.iceServers);
        this._iceRequests.delete(message.id);
        this._emit('ice-servers', message);
        break;
      case 'error':
        this._error(message);
        break;
      default:
        // offer, answer, candidate, message, broadcast, and types of later versions.
        this._emit(message.type, message);
    }
  }

  _joined(message) {
    // A resume answered after leave() was called: that seat is given up already.
    if (message.resumed && message.resumeToken !== this.resumeToken) return;
    const before = this.peers;
    this.id = message.id;
    this.room = message.room;
    this.resumeToken = message.resumeToken;
    this._setIceServers(message.iceServers);
    this.peers = new Map(message.peers.map((p) => [p.id, p]));
    this._setState('joined');
    if (message.resumed) {
      this.resumeCount++;
      this._emit('resumed', message);
      // Messages kept for this peer follow; the diff covers a kept queue that overflowed.
      for (const [id, peer] of before) if (!this.peers.has(id)) this._emit('peer-left', { type: 'peer-left', id, peer });
      for (const [id, peer] of this.peers) if (!before.has(id)) this._emit('peer-joined', { type: 'peer-joined', peer });
    } else {
      const join = this._pendingJoin;
      this._pendingJoin = null;
      if (join) this._joinArgs = { room: join.room, name: join.name, meta: join.meta, token: join.token };
      this._emit('joined', message);
      join?.resolve(message);
    }
    this._flushOutbox();
  }

  _error(message) {
    const error = new SignalError(message);
    const refresh = this._iceRequests.get(message.id);
    if (refresh) {
      this._iceRequests.delete(message.id);
      refresh.reject(error);
      return;
    }
    if (message.code === 'resume-failed' && this.resumeToken !== null && message.id?.startsWith('resume-')) {
      const previous = { previousId: this.id, room: this.room };
      const args = this._joinArgs;
      this._resetRoom();
      this._setState('open');
      this._emit('resume-failed', previous);
      if (this._pendingJoin) this._sendJoin();
      else if (args) {
        this._joinArgs = args;
        this._rejoin();
      }
      return;
    }
    if (this._pendingJoin && message.id === this._pendingJoin.id) {
      const join = this._pendingJoin;
      this._pendingJoin = null;
      join.reject(error);
    }
    this._emit('error', error);
  }
}

// ---- files over a data channel ----------------------------------------------------------------
//
// sendFile() and receiveFiles() move files over an RTCDataChannel (reliable and ordered, the
// default), which needs no server beyond TURN when the peers cannot reach each other directly.
// On the channel, each file is
//
//   text    {"type":"file","id","name","size","mime"}      the header
//   binary  chunkSize bytes each, the last one shorter      size bytes in all
//   text    {"type":"file-end","id","sha256"}              the trailer: SHA-256 of the whole file, hex
//
// and the receiver answers {"type":"file-ack","id","ok","error"?} once it has checked the size
// and the SHA-256. Files on one channel go one after another; both ends may send at once.
// A transfer cut by a closed channel is lost and must be sent again (there is no resume).
// The whole file is held in memory at both ends (crypto.subtle.digest has no streaming form),
// and crypto.subtle exists only on secure pages (https:, or http: on localhost).

/** Bytes per data-channel message when sending a file: 16 KiB, which every browser takes. */
export const FILE_CHUNK_BYTES = 16 * 1024;

const fileQueues = new WeakMap();

/**
 * Sends a file over an open data channel; resolves once the receiver (receiveFiles() on the
 * other end) has checked its size and SHA-256, and rejects when the receiver reports a
 * mismatch, the channel closes first, or no verdict comes within ackTimeoutMs. Sends on one
 * channel queue up. Back-pressure: at most highWaterMark bytes wait in the channel's buffer;
 * past that it waits for 'bufferedamountlow'.
 * @param {RTCDataChannel} channel
 * @param {Blob|ArrayBuffer|ArrayBufferView} file  A File keeps its name and type.
 * @param {{name?: string, type?: string, chunkSize?: number, highWaterMark?: number, ackTimeoutMs?: number,
 *   onProgress?: (progress: {id: string, name: string, sent: number, size: number}) => void}} [options]
 *   sent: bytes the channel has sent (handed over minus bufferedAmount).
 * @returns {Promise<{id: string, name: string, size: number, type: string, sha256: string}>}
 */
export function sendFile(channel, file, options = {}) {
  const previous = fileQueues.get(channel) ?? Promise.resolve();
  const sending = previous.catch(() => {}).then(() => sendOneFile(channel, file, options));
  fileQueues.set(channel, sending);
  return sending;
}

async function sendOneFile(channel, file, {
  name = file?.name ?? 'file', type = file?.type ?? '', chunkSize = FILE_CHUNK_BYTES,
  highWaterMark = 1024 * 1024, ackTimeoutMs = 60000, onProgress,
} = {}) {
  if (!globalThis.crypto?.subtle) throw new Error('sending a file needs crypto.subtle: a secure page (https:, or http: on localhost)');
  if (channel.readyState !== 'open') throw new Error(`the data channel is ${channel.readyState}`);
  const bytes = file instanceof Blob ? new Uint8Array(await file.arrayBuffer())
    : ArrayBuffer.isView(file) ? new Uint8Array(file.buffer, file.byteOffset, file.byteLength)
      : new Uint8Array(file);
  const id = Math.random().toString(36).slice(2, 12);
  const size = bytes.byteLength;
  const hashing = crypto.subtle.digest('SHA-256', bytes);  // runs while the chunks go out
  const listening = new AbortController();  // removes this transfer's listeners at the end
  const { signal } = listening;
  let timer;
  try {
    const closed = new Promise((resolve, reject) => {
      channel.addEventListener('close', () => reject(new Error(`the data channel closed while sending ${name}`)), { signal });
    });
    const verdict = new Promise((resolve, reject) => {
      channel.addEventListener('message', ({ data }) => {
        if (typeof data !== 'string' || !data.includes('"file-ack"')) return;
        let ack;
        try { ack = JSON.parse(data); } catch { return; }
        if (ack?.type !== 'file-ack' || ack.id !== id) return;
        if (ack.ok) resolve();
        else reject(new Error(`the receiver refused ${name}: ${ack.error ?? 'no reason given'}`));
      }, { signal });
    });
    closed.catch(() => {});
    verdict.catch(() => {});
    const drained = () => new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true, signal }));

    channel.bufferedAmountLowThreshold = Math.floor(highWaterMark / 4);
    channel.send(JSON.stringify({ type: 'file', id, name, size, mime: type }));
    for (let offset = 0; offset < size; offset += chunkSize) {
      if (channel.bufferedAmount > highWaterMark) await Promise.race([drained(), closed]);
      if (channel.readyState !== 'open') await closed;
      const end = Math.min(size, offset + chunkSize);
      channel.send(bytes.subarray(offset, end));
      onProgress?.({ id, name, sent: Math.max(0, end - channel.bufferedAmount), size });
    }
    const sha256 = hex(await hashing);
    channel.send(JSON.stringify({ type: 'file-end', id, sha256 }));
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no word from the receiver on ${name} within ${ackTimeoutMs} ms`)), ackTimeoutMs);
    });
    await Promise.race([verdict, closed, timeout]);
    onProgress?.({ id, name, sent: size, size });
    return { id, name, size, type, sha256 };
  } finally {
    clearTimeout(timer);
    listening.abort();
  }
}

/**
 * Receives the files sendFile() sends on this channel (it sets binaryType to 'arraybuffer').
 * Each file is checked against the size in its header and the SHA-256 in its trailer, and the
 * verdict goes back to the sender. Returns a function that stops listening.
 * @param {RTCDataChannel} channel
 * @param {{onStart?: (file: {id, name, size, type}) => void,
 *   onProgress?: (progress: {id, name, received: number, size: number}) => void,
 *   onFile?: (file: {id, name, size, type, sha256: string, blob: Blob}) => void,
 *   onError?: (error: Error, file: {id, name, size, type}|null) => void,
 *   maxBytes?: number}} [handlers]  onError: a SHA-256 or size mismatch, a file over maxBytes
 *   (default 512 MiB), or the channel closing mid-file.
 * @returns {() => void}
 */
export function receiveFiles(channel, { onStart, onProgress, onFile, onError, maxBytes = 512 * 1024 * 1024 } = {}) {
  channel.binaryType = 'arraybuffer';
  let current = null;  // {info, bytes, received} while a file comes in
  let refused = null;  // the id of a refused file, whose chunks are skipped
  const ack = (id, error) => {
    if (channel.readyState === 'open') channel.send(JSON.stringify({ type: 'file-ack', id, ok: !error, ...(error ? { error } : {}) }));
  };
  const fail = (info, message) => {
    ack(info.id, message);
    onError?.(new Error(`${info.name}: ${message}`), info);
  };

  const onMessage = ({ data }) => {
    if (typeof data !== 'string') {
      if (!current) return;  // a refused file's chunks
      const chunk = new Uint8Array(data);
      if (current.received + chunk.byteLength > current.info.size) {
        const { info } = current;
        current = null;
        refused = info.id;
        fail(info, `more than the announced ${info.size} bytes`);
        return;
      }
      current.bytes.set(chunk, current.received);
      current.received += chunk.byteLength;
      onProgress?.({ ...current.info, received: current.received, size: current.info.size });
      return;
    }
    let message;
    try { message = JSON.parse(data); } catch { return; }
    if (message?.type === 'file') {
      const info = { id: String(message.id), name: String(message.name ?? 'file'), size: Number(message.size), type: String(message.mime ?? '') };
      if (current) fail(current.info, 'the next file began before this one ended');
      current = null;
      if (!Number.isSafeInteger(info.size) || info.size < 0 || info.size > maxBytes) {
        refused = info.id;
        fail(info, `a size of ${message.size} bytes is not taken (at most ${maxBytes})`);
        return;
      }
      current = { info, bytes: new Uint8Array(info.size), received: 0 };
      onStart?.(info);
      onProgress?.({ ...info, received: 0 });
    } else if (message?.type === 'file-end') {
      if (message.id === refused) return;
      const file = current;
      current = null;
      if (!file || file.info.id !== message.id) return;
      finish(file, String(message.sha256 ?? '')).catch((e) => fail(file.info, e.message));
    }
  };

  const finish = async ({ info, bytes, received }, announced) => {
    if (received !== info.size) {
      fail(info, `${received} bytes came of the announced ${info.size}`);
      return;
    }
    const sha256 = hex(await crypto.subtle.digest('SHA-256', bytes));
    if (sha256 !== announced.toLowerCase()) {
      fail(info, `SHA-256 mismatch: the sender announced ${announced}, the bytes received hash to ${sha256}`);
      return;
    }
    ack(info.id);
    onFile?.({ ...info, sha256, blob: new Blob([bytes], { type: info.type }) });
  };

  const onClose = () => {
    if (!current) return;
    const { info, received } = current;
    current = null;
    onError?.(new Error(`${info.name}: the data channel closed after ${received} of ${info.size} bytes`), info);
  };

  channel.addEventListener('message', onMessage);
  channel.addEventListener('close', onClose);
  return () => {
    channel.removeEventListener('message', onMessage);
    channel.removeEventListener('close', onClose);
  };
}

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
