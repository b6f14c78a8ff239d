namespace Turn.Signal;

/// <summary>The hub's side of rooms across daemons (Signal:Redis): resumes, events from the others, the API's view of every daemon.</summary>
public sealed partial class SignalHub
{
    /// <summary>Whether rooms span daemons (Signal:Redis).</summary>
    internal bool Linked => _link is not null;

    /// <summary>The rooms this daemon has members in.</summary>
    internal ICollection<Room> Rooms => _rooms.Values;

    /// <summary>
    /// A resume whose seat another daemon holds (Signal:Redis): the seat comes here with its id,
    /// the others are told it moved (no leave, no join), and the daemon that held it sends on
    /// what it kept, after the joined message. Null when no daemon holds the seat, or this
    /// address may take no more seats.
    /// </summary>
    internal async ValueTask<Peer?> ResumeAcross(string resumeToken, ISignalSink sink, UInt128 source, QueueShare share, Func<Peer, byte[]> joined)
    {
        if (_link is null || await _link.FindSeat(resumeToken).ConfigureAwait(false) is not { } seat)
        {
            return null;
        }

        SignalOptions options = _options;
        string roomName = seat.Room;
        while (true)
        {
            Room room = _rooms.GetOrAdd(roomName, static n => new Room(n));
            await _link.Enter(room).ConfigureAwait(false);
            Peer? peer = null;
            lock (room.Sync)
            {
                if (!_rooms.TryGetValue(roomName, out Room? current) || current != room)
                {
                    continue;
                }

                if (!room.Peers.ContainsKey(seat.Id) && Sources.TryTakeSeat(source, options, room.SeatsOf(source), createsRoom: room.Creator is null, out _))
                {
                    room.Creator ??= source;
                    peer = new Peer(seat.Id, resumeToken, room, seat.Name, seat.Meta, source, share);
                    room.Remote.Remove(seat.Id);
                    room.Peers.Add(peer.Id, peer);
                    peer.Attach(sink);
                    sink.TrySend(joined(peer));
                }
            }

            if (peer is null)
            {
                RemoveIfEmpty(room);
                return null;
            }

            _byResumeToken[resumeToken] = peer;
            _link.Moved(peer);
            _metrics.PeerJoined();
            _metrics.Resumed();
            return peer;
        }
    }

    /// <summary>
    /// What another daemon said about a room this one follows (Signal:Redis): a member seated
    /// or gone there, a message for a member here, or one for every member. Runs on the Redis
    /// client's thread; a malformed event, or one about a room this daemon let go, is dropped.
    /// </summary>
    internal void OnRoomEvent(Room room, ReadOnlyMemory<byte> bytes)
    {
        if (!Backplane.RoomEvent.TryDecode(bytes, out Backplane.RoomEvent e) || e.Node == _link?.Node
            || !_rooms.TryGetValue(room.Name, out Room? current) || current != room)
        {
            return;
        }

        _metrics.BackplaneEvent(sent: false);

        switch (e.Kind)
        {
            case Backplane.RoomEventKind.Joined:
                RemoteJoined(room, new RemotePeer(e.Id, e.Name, e.Meta, e.Node));
                break;
            case Backplane.RoomEventKind.Left:
                RemoteLeft(room, e.Id);
                break;
            case Backplane.RoomEventKind.To:
                lock (room.Sync)
                {
                    if (room.Peers.TryGetValue(e.Id, out Peer? target))
                    {
                        target.Deliver(e.Message, _options, Budget);
                    }
                }

                break;
            case Backplane.RoomEventKind.All:
                Broadcast(null, e.Message, room);
                break;
            case Backplane.RoomEventKind.Moved:
                MovedAway(room, e.Id, e.Node);
                break;
        }
    }

    /// <summary>
    /// A seat resumed on another daemon: held here, it goes without a leave (its connection, if
    /// any, is closed as resumed elsewhere) and what it kept is sent on; known as remote, its node
    /// changes.
    /// </summary>
    private void MovedAway(Room room, string id, string node)
    {
        Peer? moved;
        List<ReadOnlyMemory<byte>> kept = [];
        lock (room.Sync)
        {
            if (room.Remote.TryGetValue(id, out RemotePeer? remote))
            {
                room.Remote[id] = remote with { Node = node };
                return;
            }

            if (!room.Peers.Remove(id, out moved))
            {
                return;
            }

            moved.HasLeft = true;
            room.Remote[id] = new RemotePeer(id, moved.Name, moved.Meta, node);
            kept = [.. moved.Sink?.TakeUndelivered() ?? [], .. moved.TakePending(Budget)];
            moved.Sink?.Close("resumed elsewhere");
        }

        Sources.SeatGiven(moved.Source);
        _byResumeToken.TryRemove(moved.ResumeToken, out _);
        _metrics.PeerLeft();
        foreach (ReadOnlyMemory<byte> message in kept)
        {
            _link!.SendTo(room, id, message);
        }

        RemoveIfEmpty(room);
    }

    /// <summary>A member seated on another daemon: the members here are told, once.</summary>
    internal void RemoteJoined(Room room, RemotePeer member)
    {
        bool added;
        lock (room.Sync)
        {
            added = !room.Peers.ContainsKey(member.Id) && room.Remote.TryAdd(member.Id, member);
        }

        if (added)
        {
            Broadcast(null, SignalMessages.PeerJoined(member.Id, member.Name, member.Meta), room);
        }
    }

    /// <summary>A member on another daemon is gone: the members here are told.</summary>
    internal void RemoteLeft(Room room, string id)
    {
        bool removed;
        lock (room.Sync)
        {
            removed = room.Remote.Remove(id);
        }

        if (removed)
        {
            Broadcast(null, SignalMessages.PeerLeft(id), room);
        }
    }

    /// <summary>
    /// <see cref="Snapshot"/> across daemons (Signal:Redis): every daemon's members as Redis has
    /// them, with this daemon's own view where Redis lacks a room or member (seated while Redis was
    /// away); without Redis, or when it does not answer, this daemon's rooms.
    /// </summary>
    public async Task<IReadOnlyList<RoomSnapshot>> SnapshotAsync(string? onlyRoom = null)
    {
        IReadOnlyList<RoomSnapshot> here = Snapshot(onlyRoom);
        if (_link is null || await _link.Snapshot(onlyRoom).ConfigureAwait(false) is not { } across)
        {
            return here;
        }

        foreach (RoomSnapshot room in here)
        {
            int index = across.FindIndex(r => r.Room == room.Room);
            if (index < 0)
            {
                across.Add(room);
                continue;
            }

            // This daemon knows its own members best: whether each is connected, and any Redis missed.
            var peers = room.Peers.ToList();
            peers.AddRange(across[index].Peers.Where(p => !room.Peers.Any(mine => mine.Id == p.Id)));
            across[index] = room with { Peers = peers };
        }

        return across;
    }
}
