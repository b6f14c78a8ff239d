using StackExchange.Redis;

namespace Turn.Signal.Backplane;

/// <summary>
/// The hub's side of rooms across daemons (Signal:Redis): before a join it follows the room
/// (subscribes to its events, then reads its members, so nothing sent in between is missed) and
/// takes the seat in Redis under the room's size cap for all daemons at once; it tells the other
/// daemons of joins, leaves, addressed messages and broadcasts; it hands what they say to the hub;
/// and its sweep keeps this node alive and drops the members of nodes that are not. When Redis
/// does not answer in time, the daemon serves the room with what it knows (its own members, and
/// the others it has heard of), and tries again on the next join.
/// </summary>
internal sealed partial class RoomLink
{
    private readonly RoomBus _bus;
    private readonly SignalHub _hub;
    private long _nextSweepMs;
    private int _sweeping;
    private int _restoring;
    private long _judgeNodesAfterMs;

    public RoomLink(RoomBus bus, SignalHub hub)
    {
        _bus = bus;
        _hub = hub;
        _bus.HeartbeatLater();
        _bus.Restored += () => _ = Restore();
    }

    public string Node => _bus.Node;

    public bool Connected => _bus.Connected;

    /// <summary>
    /// Follows the room's events and learns its members on other nodes, once per room object
    /// (joins meanwhile wait for the same start); false when Redis did not answer, and the next
    /// join tries again.
    /// </summary>
    public Task<bool> Enter(Room room)
    {
        lock (room.Sync)
        {
            return room.Following ??= Follow(room);
        }
    }

    private async Task<bool> Follow(Room room)
    {
        ChannelMessageQueue? events = null;
        try
        {
            // Subscribed first, then read: a member who joins in between is in one or the other.
            events = await _bus.Subscribe(room.Name, message => _hub.OnRoomEvent(room, message)).ConfigureAwait(false);
            var alive = new Dictionary<string, bool>(StringComparer.Ordinal);
            var members = new List<RemotePeer>();
            foreach (byte[] entry in await _bus.MemberEntries(room.Name).ConfigureAwait(false))
            {
                if (!RoomEvent.TryDecode(entry, out RoomEvent member) || member.Node == Node)
                {
                    continue;
                }

                if (!alive.TryGetValue(member.Node, out bool isAlive))
                {
                    alive[member.Node] = isAlive = await _bus.IsAlive(member.Node).ConfigureAwait(false);
                }

                if (isAlive)
                {
                    members.Add(new RemotePeer(member.Id, member.Name, member.Meta, member.Node));
                }
                else
                {
                    _bus.ForgetMember(room.Name, member.Id);
                }
            }

            lock (room.Sync)
            {
                room.Events = events;
                foreach (RemotePeer member in members)
                {
                    room.Remote.TryAdd(member.Id, member);
                }
            }

            return true;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            lock (room.Sync)
            {
                room.Following = null;
            }

            if (events is not null)
            {
                Try(() => RoomBus.UnsubscribeLater(events));
            }

            return false;
        }
    }

    /// <summary>Stops following a room this daemon no longer has members in.</summary>
    public void Exit(Room room)
    {
        ChannelMessageQueue? events;
        lock (room.Sync)
        {
            events = room.Events;
            room.Events = null;
            room.Following = null;
            room.Remote.Clear();
        }

        if (events is not null)
        {
            Try(() => RoomBus.UnsubscribeLater(events));
        }
    }

    /// <summary>
    /// Takes a join, or a set of TURN credentials, from the address's rate shared by every daemon
    /// (the same Signal:JoinsPerSecond and Signal:CredentialsPerMinute, for all of them together);
    /// on a refusal the address's bucket here is emptied too. True when Redis did not answer.
    /// </summary>
    public async Task<bool> TakeRate(bool joins, UInt128 source, SignalOptions options, long nowMs)
    {
        (int perPeriod, long periodMs, int burst) = joins
            ? (options.JoinsPerSecond, 1000L, options.JoinsPerSecond * 4)
            : (options.CredentialsPerMinute, 60_000L, options.CredentialsPerMinute);
        if (perPeriod <= 0)
        {
            return true;
        }

        try
        {
            if (await _bus.TakeRate(joins ? "join" : "credentials", source, Math.Max(1, periodMs / perPeriod), burst).ConfigureAwait(false) == 0)
            {
                return true;
            }

            _hub.Sources.Drain(joins, source, nowMs);
            return false;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return true;
        }
    }

    /// <summary>Takes a seat in Redis under the cap for all daemons; true too when Redis did not answer (the local cap applies then).</summary>
    public async Task<bool> TrySeat(Room room, string id, string? name, byte[]? meta, int max)
    {
        try
        {
            return await _bus.TryAddMember(room.Name, id, new RoomEvent(RoomEventKind.Joined, Node, id, name, meta, default).Encode(), max).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return true;
        }
    }

    public void Joined(Peer peer)
    {
        Try(() => _bus.RememberSeat(peer.ResumeToken, peer.Room.Name, peer.Id));
        Publish(peer.Room.Name, new RoomEvent(RoomEventKind.Joined, Node, peer.Id, peer.Name, peer.Meta, default));
    }

    /// <summary>The seat a resume token is for when another daemon holds it: its room, id, name and metadata; null when none does.</summary>
    public async Task<SeatElsewhere?> FindSeat(string token)
    {
        try
        {
            if (await _bus.FindSeat(token).ConfigureAwait(false) is not (string room, string id)
                || await _bus.MemberEntry(room, id).ConfigureAwait(false) is not { } entry
                || !RoomEvent.TryDecode(entry, out RoomEvent member))
            {
                return null;
            }

            return new SeatElsewhere(room, member.Id, member.Name, member.Meta);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return null;
        }
    }

    /// <summary>Marks the member's entry away or back (for the operator API), without waiting; called under the room's lock, so the marks go out in order.</summary>
    public void Presence(Peer peer, bool connected)
        => Try(() => _bus.ReplaceMember(peer.Room.Name, peer.Id, Entry(peer, connected)));

    private byte[] Entry(Peer peer, bool connected = true)
        => new RoomEvent(RoomEventKind.Joined, Node, peer.Id, peer.Name, peer.Meta, connected ? default : AwayMark).Encode();

    private static readonly byte[] AwayMark = "away"u8.ToArray();

    /// <summary>
    /// The rooms as Redis has them, every daemon's members (one room, or all of them), with
    /// whether each is connected; null when Redis did not answer.
    /// </summary>
    public async Task<List<RoomSnapshot>?> Snapshot(string? onlyRoom)
    {
        try
        {
            var rooms = new List<RoomSnapshot>();
            foreach (string name in onlyRoom is null ? await _bus.RoomNames().ConfigureAwait(false) : [onlyRoom])
            {
                var peers = new List<PeerSnapshot>();
                foreach ((_, byte[] entry) in await _bus.Members(name).ConfigureAwait(false))
                {
                    if (RoomEvent.TryDecode(entry, out RoomEvent member))
                    {
                        peers.Add(new PeerSnapshot(member.Id, member.Name, member.Message.IsEmpty));
                    }
                }

                if (peers.Count > 0)
                {
                    rooms.Add(new RoomSnapshot(name, peers));
                }
            }

            return rooms;
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return null;
        }
    }

    /// <summary>A seat resumed here that another daemon held: the members' entry now names this node, and the others are told.</summary>
    public void Moved(Peer peer)
    {
        Try(() => _bus.ReplaceMember(peer.Room.Name, peer.Id, Entry(peer)));
        Publish(peer.Room.Name, new RoomEvent(RoomEventKind.Moved, Node, peer.Id, null, null, default));
    }

    /// <summary>The seat is given back (a leave, an expired away seat, or a join that failed after the seat was taken).</summary>
    public void Left(Room room, string id, string? token = null)
    {
        if (token is not null)
        {
            Try(() => _bus.ForgetSeat(token));
        }

        Try(() => _bus.ForgetMember(room.Name, id));
        Publish(room.Name, new RoomEvent(RoomEventKind.Left, Node, id, null, null, default));
    }

    public void SendTo(Room room, string to, ReadOnlyMemory<byte> message) => Publish(room.Name, new RoomEvent(RoomEventKind.To, Node, to, null, null, message));

    public void Broadcast(Room room, string from, ReadOnlyMemory<byte> message) => Publish(room.Name, new RoomEvent(RoomEventKind.All, Node, from, null, null, message));

    /// <summary>A server push for a room with no member here: false when no daemon has one either (or Redis did not answer).</summary>
    public async Task<bool> PushElsewhere(string room, ReadOnlyMemory<byte> message)
    {
        try
        {
            if (await _bus.MemberCount(room).ConfigureAwait(false) == 0)
            {
                return false;
            }
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            return false;
        }

        Publish(room, new RoomEvent(RoomEventKind.All, Node, "server", null, null, message));
        return true;
    }

    /// <summary>
    /// Every few seconds (a third of a node's lifetime), without waiting: this node's heartbeat,
    /// and the members of nodes whose heartbeat lapsed leave the rooms this daemon follows.
    /// </summary>
    public void Sweep(long nowMs, IEnumerable<Room> rooms)
    {
        if (nowMs < _nextSweepMs || Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        _nextSweepMs = nowMs + (long)(_bus.NodeLifetime.TotalMilliseconds / 3);
        if (Volatile.Read(ref _restoring) != 0)
        {
            Volatile.Write(ref _sweeping, 0);
            return;
        }

        Try(_bus.HeartbeatLater);
        _ = DropDeadNodes([.. rooms]);
    }

    private async Task DropDeadNodes(Room[] rooms)
    {
        try
        {
            // After Redis returns, a node's liveness key may be missing until its own restore:
            // nobody is judged dead for one node lifetime.
            if (Environment.TickCount64 < Volatile.Read(ref _judgeNodesAfterMs))
            {
                return;
            }

            var alive = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (Room room in rooms)
            {
                RemotePeer[] members;
                lock (room.Sync)
                {
                    members = [.. room.Remote.Values];
                }

                foreach (RemotePeer member in members)
                {
                    if (!alive.TryGetValue(member.Node, out bool isAlive))
                    {
                        alive[member.Node] = isAlive = await _bus.IsAlive(member.Node).ConfigureAwait(false);
                    }

                    if (!isAlive)
                    {
                        _hub.RemoteLeft(room, member.Id);
                        Try(() => _bus.ForgetMember(room.Name, member.Id));
                    }
                }
            }
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Redis is away: nobody is judged dead meanwhile.
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>Whether a call failed on Redis's side (counted), rather than on ours.</summary>
    private bool IsRedisFailure(Exception e)
    {
        bool redis = e is RedisException or RedisTimeoutException or ObjectDisposedException;
        if (redis)
        {
            _hub.Metrics.BackplaneError();
        }

        return redis;
    }

    /// <summary>Sends an event to the room's channel without waiting (per message: no closure).</summary>
    private void Publish(string room, RoomEvent message) => Publish(room, message.Encode());

    private void Publish(string room, byte[] message)
    {
        _hub.Metrics.BackplaneEvent(sent: true);
        try
        {
            _bus.PublishLater(room, message);
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Fire-and-forget: what Redis misses now is not retried.
        }
    }

    private void Try(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Fire-and-forget: what Redis misses now is not retried.
        }
    }
}

/// <summary>A seat another daemon holds, as its resume token finds it.</summary>
internal sealed record SeatElsewhere(string Room, string Id, string? Name, byte[]? Meta);
