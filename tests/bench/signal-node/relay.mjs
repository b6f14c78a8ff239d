// The anchor of the signaling benchmark: the smallest useful room relay on Node's `ws`, speaking
// the subset of turn's protocol (docs/signaling.md) that tests/SignalLoad drives: join ->
// joined (with the peers already there) and peer-joined to them; an addressed message to one
// roommate; peer-left on close. No auth, no limits, no resume: a floor for memory and CPU.
//
//   node relay.mjs --port 8090 [--host 127.0.0.1]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } });
const rooms = new Map(); // room -> Map(id -> socket)

const server = new WebSocketServer({ host: values.host ?? '127.0.0.1', port: Number(values.port ?? 8090), path: '/signal', perMessageDeflate: false });
server.on('connection', (socket) => {
  let id = null;
  let room = null;
  let name = '';
  socket.on('message', (raw) => {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      socket.send('{"type":"error","code":"bad-message"}');
      return;
    }
    if (message.type === 'join' && id === null && typeof message.room === 'string') {
      id = randomBytes(6).toString('hex');
      room = message.room;
      name = String(message.name ?? '');
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Map()));
      const peers = [...members.entries()].map(([peerId, peer]) => ({ id: peerId, name: peer.peerName }));
      socket.peerName = name;
      members.set(id, socket);
      socket.send(JSON.stringify({ type: 'joined', v: 1, room, id, peers }));
      const announce = JSON.stringify({ type: 'peer-joined', peer: { id, name } });
      for (const [peerId, peer] of members) if (peerId !== id) peer.send(announce);
    } else if (message.type === 'message' && id !== null) {
      const target = rooms.get(room)?.get(message.to);
      if (target) target.send(JSON.stringify({ type: 'message', from: id, data: message.data }));
      else socket.send('{"type":"error","code":"unknown-peer"}');
    }
  });
  socket.on('close', () => {
    const members = room === null ? undefined : rooms.get(room);
    if (!members) return;
    members.delete(id);
    if (members.size === 0) rooms.delete(room);
    const left = JSON.stringify({ type: 'peer-left', id });
    for (const peer of members.values()) peer.send(left);
  });
});
server.on('listening', () => process.stdout.write(`listening on ${values.host ?? '127.0.0.1'}:${server.address().port}\n`));
