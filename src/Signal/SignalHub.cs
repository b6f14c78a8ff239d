using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Turn.Signal;

/// <summary>
/// Rooms and peers, and the rules of the protocol: join, resume, leave, addressed messages and
/// room-wide ones. It knows nothing of sockets: a connected peer is an <see cref="ISignalSink"/>.
/// </summary>
public sealed partial class SignalHub
{
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Peer> _byResumeToken = new(StringComparer.Ordinal);
    private volatile SignalOptions _options;
    private readonly IIceServerProvider _iceServers;
    private readonly SignalMetrics _metrics;
    private Backplane.RoomLink? _link;

    public SignalHub(SignalOptions options, IIceServerProvider iceServers, SignalMetrics metrics)
    {
        _options = options;
        _iceServers = iceServers;
        _metrics = metrics;
        Budget = new QueueBudget(() => _options);
        metrics.Observe(this);
    }

    /// <summary>Whether the Redis of Signal:Redis is connected; null without it.</summary>
    internal bool? BackplaneConnected => _link?.Connected;

    /// <summary>Shares rooms with the other daemons on <paramref name="bus"/> (Signal:Redis).</summary>
    internal void Link(Backplane.RoomBus bus) => _link = new Backplane.RoomLink(bus, this);

    /// <summary>What each client address holds and how fast it asks.</summary>
    internal SourceLimits Sources { get; } = new();

    /// <summary>Bytes queued across every connection and away seat.</summary>
    internal QueueBudget Budget { get; }

    /// <summary>Bytes queued for delivery now, across every connection and away seat.</summary>
    public long QueuedBytes => Budget.Used;

    private int _connections;

    /// <summary>The limits in force; a reload swaps in new ones, which apply to what comes next.</summary>
    public SignalOptions Options => _options;

    /// <summary>
    /// Applies reloaded options: origins, tokens, keys and limits. Peers already seated keep
    /// their seats even when a room is now over its size; the route path cannot change.
    /// </summary>
    public void Reload(SignalOptions options) => _options = options;

    /// <summary>While draining, joins are refused; peers already in rooms carry on.</summary>
    public bool Draining { get; set; }

    public int RoomCount => _rooms.Count;

    public int PeerCount => _rooms.Values.Sum(r => { lock (r.Sync) { return r.Peers.Count; } });

    internal SignalMetrics Metrics => _metrics;

    internal IIceServerProvider IceServers => _iceServers;

    /// <summary>Seats a new peer from a client address; the answer is the peer, or an error code and why.</summary>
    internal async ValueTask<(Peer? Peer, string? Error, string? Why)> Join(string roomName, string? name, byte[]? meta, ISignalSink sink, UInt128 source, QueueShare share, long nowMs)
    {
        if (Draining)
        {
            return (null, SignalError.ServerDraining, null);
        }

        SignalOptions options = _options;

        if (_link is not null && await RateRefusedAcross(source, options, nowMs).ConfigureAwait(false) is { } refusal)
        {
            return (null, SignalError.RateLimited, refusal);
        }

        string id = NewId();
        bool seatedAcross = false;
        while (true)
        {
            Room room = _rooms.GetOrAdd(roomName, static n => new Room(n));
            if (_rooms.Count > options.MaxRooms && room.Peers.Count == 0)
            {
                RemoveIfEmpty(room);
                return (null, SignalError.TooManyRooms, null);
            }

            // Across daemons the room's cap is judged in Redis, once, before the seat is taken here.
            if (_link is not null && await _link.Enter(room).ConfigureAwait(false) && !seatedAcross)
            {
                if (!await _link.TrySeat(room, id, name, meta, options.MaxPeersPerRoom).ConfigureAwait(false))
                {
                    RemoveIfEmpty(room);
                    return (null, SignalError.RoomFull, null);
                }

                seatedAcross = true;
            }

            Peer? peer = null;
            string limit = "";
            lock (room.Sync)
            {
                // The room may have been emptied and dropped since it was looked up.
                if (!_rooms.TryGetValue(roomName, out Room? current) || current != room)
                {
                    continue;
                }

                if (!seatedAcross && room.Peers.Count + room.Remote.Count >= options.MaxPeersPerRoom)
                {
                    return (null, SignalError.RoomFull, null);
                }

                if (Sources.TryTakeSeat(source, options, room.SeatsOf(source), createsRoom: room.Creator is null, out limit))
                {
                    room.Creator ??= source;
                    peer = new Peer(id, NewToken(), room, name, meta, source, share);
                    peer.Attach(sink);
                    room.Peers.Add(peer.Id, peer);
                }
            }

            if (peer is null)
            {
                if (seatedAcross)
                {
                    _link!.Left(room, id);
                }

                // An empty room this join looked up goes again, so that it counts against no one.
                RemoveIfEmpty(room);
                return (null, SignalError.AddressLimit, limit);
            }

            _byResumeToken[peer.ResumeToken] = peer;
            Broadcast(peer, SignalMessages.PeerJoined(peer));
            _link?.Joined(peer);
            _metrics.PeerJoined();
            return (peer, null, null);
        }
    }

    /// <summary>Across daemons the address's join and credential rates are for all of them together: why a join is refused, or null.</summary>
    private async ValueTask<string?> RateRefusedAcross(UInt128 source, SignalOptions options, long nowMs)
    {
        Task<bool> join = _link!.TakeRate(joins: true, source, options, nowMs);
        Task<bool> credentials = _link.TakeRate(joins: false, source, options, nowMs);
        if (!await join.ConfigureAwait(false))
        {
            return $"more than {options.JoinsPerSecond} joins per second from this address";
        }

        return await credentials.ConfigureAwait(false) ? null : $"more than {options.CredentialsPerMinute} sets of TURN credentials a minute for this address";
    }

    /// <summary>
    /// Gives a peer that is away its seat back; the others see nothing. The joined message and
    /// then what was kept for it are queued before anything new can reach it, in that order.
    /// </summary>
    internal Peer? Resume(string resumeToken, ISignalSink sink, Func<Peer, byte[]> joined)
    {
        if (!_byResumeToken.TryGetValue(resumeToken, out Peer? peer))
        {
            return null;
        }

        lock (peer.Room.Sync)
        {
            if (peer.HasLeft)
            {
                return null;
            }

            // A resume can also take over from a connection that is not yet known to be dead:
            // what that one had not delivered comes here, after the joined message.
            List<ReadOnlyMemory<byte>> undelivered = peer.Sink?.TakeUndelivered() ?? [];
            peer.Sink?.Close("resumed elsewhere");
            peer.Attach(sink);
            sink.TrySend(joined(peer));
            foreach (ReadOnlyMemory<byte> message in undelivered)
            {
                sink.TrySend(message);
            }

            peer.Flush(Budget);
            _link?.Presence(peer, connected: true);
        }

        _metrics.Resumed();
        return peer;
    }

    /// <summary>The connection is gone: keep the seat for the grace window, or leave at once when there is none.</summary>
    internal void Disconnected(Peer peer, ISignalSink sink, long nowMs)
    {
        lock (peer.Room.Sync)
        {
            if (peer.Sink != sink || peer.HasLeft)
            {
                return;
            }

            // What the connection had not delivered (its queue; a polling session's unacknowledged
            // messages) is kept for a resume, as a message sent while away would be.
            List<ReadOnlyMemory<byte>> undelivered = sink.TakeUndelivered();
            peer.Detach(nowMs);
            foreach (ReadOnlyMemory<byte> message in undelivered)
            {
                peer.Deliver(message, _options, Budget);
            }

            _link?.Presence(peer, connected: false);
        }

        if (_options.ResumeGraceSeconds <= 0)
        {
            // Only if still away: a resume may have taken the seat since the detach.
            Leave(peer, onlyIfAway: true, owner: null);
        }
    }

    internal void Leave(Peer peer) => Leave(peer, onlyIfAway: false, owner: null);

    /// <summary>
    /// A leave sent on a connection: false when that connection no longer holds the seat (another
    /// resumed it), judged under the room's lock so that a resume cannot slip in between.
    /// </summary>
    internal bool Leave(Peer peer, ISignalSink owner) => Leave(peer, onlyIfAway: false, owner);

    /// <summary>
    /// Takes the peer out of its room. With <paramref name="onlyIfAway"/> (the sweep) the check
    /// that it is still away and the removal happen under one lock, so a resume that wins the
    /// seat back in between keeps it; with an <paramref name="owner"/>, only that connection may.
    /// </summary>
    private bool Leave(Peer peer, bool onlyIfAway, ISignalSink? owner)
    {
        Room room = peer.Room;
        lock (room.Sync)
        {
            if (peer.HasLeft || (onlyIfAway && peer.AwaySince == 0) || (owner is not null && peer.Sink != owner))
            {
                return false;
            }

            peer.HasLeft = true;
            room.Peers.Remove(peer.Id);
            peer.Clear(Budget);
        }

        Sources.SeatGiven(peer.Source);
        _byResumeToken.TryRemove(peer.ResumeToken, out _);
        Broadcast(peer, SignalMessages.PeerLeft(peer));
        _link?.Left(room, peer.Id, peer.ResumeToken);
        RemoveIfEmpty(room);
        _metrics.PeerLeft();
        return true;
    }

    /// <summary>Ends the seats of peers away longer than the grace window; returns how many left.</summary>
    public int Sweep(long nowMs)
    {
        Sources.Sweep(nowMs, _options);
        _link?.Sweep(nowMs, _rooms.Values);
        long grace = _options.ResumeGraceSeconds * 1000L;
        var expired = new List<Peer>();
        foreach (Room room in _rooms.Values)
        {
            lock (room.Sync)
            {
                foreach (Peer peer in room.Peers.Values)
                {
                    if (peer.AwaySince > 0 && nowMs - peer.AwaySince >= grace)
                    {
                        expired.Add(peer);
                    }
                }
            }
        }

        int left = 0;
        foreach (Peer peer in expired)
        {
            // A resume may have won the seat back since the scan.
            if (Leave(peer, onlyIfAway: true, owner: null))
            {
                left++;
            }
        }

        return left;
    }

    /// <summary>Rooms and their peers for the operator API: ids, names, whether connected. No tokens.</summary>
    public IReadOnlyList<RoomSnapshot> Snapshot(string? onlyRoom = null)
    {
        var rooms = new List<RoomSnapshot>();
        foreach (Room room in _rooms.Values)
        {
            if (onlyRoom is not null && room.Name != onlyRoom)
            {
                continue;
            }

            lock (room.Sync)
            {
                rooms.Add(new RoomSnapshot(room.Name, [.. room.Peers.Values.Select(p => new PeerSnapshot(p.Id, p.Name, p.Sink is not null))]));
            }
        }

        return rooms;
    }

    private void RemoveIfEmpty(Room room)
    {
        UInt128? creator = null;
        bool removed = false;
        lock (room.Sync)
        {
            if (room.Peers.Count == 0 && _rooms.TryRemove(new KeyValuePair<string, Room>(room.Name, room)))
            {
                creator = room.Creator;
                removed = true;
            }
        }

        if (removed)
        {
            _link?.Exit(room);
        }

        if (creator is UInt128 source)
        {
            Sources.RoomGone(source);
        }
    }

    private static string NewId()
    {
        Span<byte> bytes = stackalloc byte[6];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToHexString(bytes).ToLowerInvariant();
    }

    private static string NewToken()
    {
        Span<byte> bytes = stackalloc byte[18];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes).Replace('+', '-').Replace('/', '_');
    }
}
