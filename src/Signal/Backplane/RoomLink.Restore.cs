using StackExchange.Redis;

namespace Turn.Signal.Backplane;

/// <summary>When Redis comes back: this daemon's members put back, and its view of the others' brought in line.</summary>
internal sealed partial class RoomLink
{
    /// <summary>
    /// Redis is back (restarted, perhaps empty, or reachable again): this node follows the rooms
    /// it has members in again, puts its members back (and takes out its entries for members
    /// that left meanwhile), tells the other nodes of them, and then marks itself alive. Twice
    /// afterwards (when the others have had time to do the same, and after a node's lifetime,
    /// by when every live node has) it brings its view of the other nodes' members in line with
    /// Redis: who joined or left elsewhere while Redis was away.
    /// </summary>
    private async Task Restore()
    {
        if (Interlocked.Exchange(ref _restoring, 1) != 0)
        {
            return;
        }

        long lifetime = (long)_bus.NodeLifetime.TotalMilliseconds;
        Volatile.Write(ref _judgeNodesAfterMs, Environment.TickCount64 + lifetime);
        try
        {
            foreach (Room room in _hub.Rooms)
            {
                if (await Enter(room).ConfigureAwait(false))
                {
                    await Reseat(room).ConfigureAwait(false);
                }
            }

            _bus.HeartbeatLater();
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Gone again: the next restore starts over.
        }
        finally
        {
            Volatile.Write(ref _restoring, 0);
        }

        foreach (long wait in (long[])[lifetime / 5, lifetime])
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait)).ConfigureAwait(false);
            try
            {
                foreach (Room room in _hub.Rooms)
                {
                    await Reconcile(room).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                return;
            }
        }
    }

    /// <summary>This node's members of the room back in Redis, entries of its members that are gone taken out, and the others told.</summary>
    private async Task Reseat(Room room)
    {
        var mine = new List<(HashEntry Entry, string Token)>();
        lock (room.Sync)
        {
            foreach (Peer peer in room.Peers.Values)
            {
                mine.Add((new HashEntry(peer.Id, Entry(peer, peer.Sink is not null)), peer.ResumeToken));
            }
        }

        var gone = new List<RedisValue>();
        foreach ((string id, byte[] entry) in await _bus.Members(room.Name).ConfigureAwait(false))
        {
            if (RoomEvent.TryDecode(entry, out RoomEvent member) && member.Node == Node && !mine.Exists(m => m.Entry.Name == id))
            {
                gone.Add(id);
            }
        }

        if (gone.Count > 0)
        {
            _bus.ForgetMembers(room.Name, [.. gone]);
        }

        if (mine.Count == 0)
        {
            return;
        }

        _bus.RestoreMembers(room.Name, [.. mine.Select(m => m.Entry)]);
        foreach ((HashEntry entry, string token) in mine)
        {
            _bus.RememberSeat(token, room.Name, entry.Name!);
            Publish(room.Name, (byte[])entry.Value!);
        }
    }

    /// <summary>The room's members on other live nodes, as Redis has them, become this node's view of them.</summary>
    private async Task Reconcile(Room room)
    {
        if (room.Events is null)
        {
            return;
        }

        var alive = new Dictionary<string, bool>(StringComparer.Ordinal);
        var listed = new Dictionary<string, RemotePeer>(StringComparer.Ordinal);
        foreach ((_, byte[] entry) in await _bus.Members(room.Name).ConfigureAwait(false))
        {
            if (RoomEvent.TryDecode(entry, out RoomEvent member) && member.Node != Node)
            {
                listed[member.Id] = new RemotePeer(member.Id, member.Name, member.Meta, member.Node);
                if (!alive.ContainsKey(member.Node))
                {
                    alive[member.Node] = await _bus.IsAlive(member.Node).ConfigureAwait(false);
                }
            }
        }

        RemotePeer[] known;
        lock (room.Sync)
        {
            known = [.. room.Remote.Values];
        }

        foreach (RemotePeer member in known)
        {
            // A member is gone when its node is alive (so it has put its members back) and does not list it.
            if (!listed.ContainsKey(member.Id)
                && (alive.TryGetValue(member.Node, out bool isAlive) ? isAlive : await _bus.IsAlive(member.Node).ConfigureAwait(false)))
            {
                _hub.RemoteLeft(room, member.Id);
            }
        }

        foreach (RemotePeer member in listed.Values)
        {
            if (alive[member.Node])
            {
                _hub.RemoteJoined(room, member);
            }
        }
    }
}
