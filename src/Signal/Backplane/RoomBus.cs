using StackExchange.Redis;

namespace Turn.Signal.Backplane;

/// <summary>
/// What daemons sharing rooms through Redis say to each other, and who is where. Each daemon is
/// a node with a random id and a liveness key it refreshes (turn:node:{id}, expiring); a room's
/// members are a hash
/// (turn:room:{room}:members, peer id to node id and the peer's public fields), and a room's
/// events go over its own sharded channel (turn:room:{room}, SPUBLISH/SSUBSCRIBE, Redis 7), which
/// only nodes with a member there subscribe to: no channel every node must read.
/// </summary>
internal sealed class RoomBus : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ISubscriber _subscriber;
    private readonly IDatabase _db;

    private RoomBus(ConnectionMultiplexer redis, string node, TimeSpan nodeLifetime)
    {
        _redis = redis;
        _subscriber = redis.GetSubscriber();
        _db = redis.GetDatabase();
        Node = node;
        NodeLifetime = nodeLifetime;
        redis.ConnectionRestored += OnRestored;
    }

    /// <summary>How long a node counts as alive after its last heartbeat.</summary>
    public TimeSpan NodeLifetime { get; }

    /// <summary>This daemon's id among the nodes.</summary>
    public string Node { get; }

    public bool Connected => _redis.IsConnected;

    /// <summary>
    /// Raised (on the Redis client's thread) when the connection for commands is back after a
    /// failure: Redis restarted, or the network returned. Subscriptions are renewed by the client.
    /// </summary>
    public event Action? Restored
    {
        add => _restored += value;
        remove => _restored -= value;
    }

    private Action? _restored;

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            _restored?.Invoke();
        }
    }

    /// <summary>
    /// Connects to the Redis at <paramref name="configuration"/> in the background (start-up does
    /// not wait on Redis) and keeps reconnecting; a call waits at most <paramref name="timeout"/>
    /// (a join must not hang on Redis).
    /// </summary>
    public static RoomBus Connect(string configuration, string node, TimeSpan? timeout = null, TimeSpan? nodeLifetime = null)
        => Create(ConnectionMultiplexer.Connect(Options(configuration, node, timeout)), node, nodeLifetime);

    private static RoomBus Create(ConnectionMultiplexer redis, string node, TimeSpan? nodeLifetime)
        => new(redis, node, nodeLifetime ?? TimeSpan.FromSeconds(15));

    private static ConfigurationOptions Options(string configuration, string node, TimeSpan? timeout)
    {
        ConfigurationOptions options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ClientName = "turn-" + node;
        int ms = (int)(timeout ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
        options.SyncTimeout = ms;
        options.AsyncTimeout = ms;
        options.ConnectTimeout = ms;
        return options;
    }

    public async Task<bool> IsAlive(string node) => await _db.KeyExistsAsync(NodeKey(node)).ConfigureAwait(false);

    /// <summary>Seats a member (its entry) when the room has fewer than <paramref name="max"/>; false when full (one atomic step across daemons).</summary>
    public async Task<bool> TryAddMember(string room, string peerId, byte[] entry, int max)
    {
        const string Script = "if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1";
        return (int)await _db.ScriptEvaluateAsync(Script, [MembersKey(room)], [peerId, entry, max]).ConfigureAwait(false) == 1;
    }

    /// <summary>Every member's id and entry, as bytes.</summary>
    public async Task<IReadOnlyList<(string Id, byte[] Entry)>> Members(string room)
        => [.. (await _db.HashGetAllAsync(MembersKey(room)).ConfigureAwait(false)).Select(e => ((string)e.Name!, (byte[])e.Value!))];

    /// <summary>Seats members without the cap (their seats were taken before), without waiting.</summary>
    public void RestoreMembers(string room, HashEntry[] entries) => _db.HashSet(MembersKey(room), entries, CommandFlags.FireAndForget);

    /// <summary>Removes members without waiting for Redis.</summary>
    public void ForgetMembers(string room, RedisValue[] peerIds) => _db.HashDelete(MembersKey(room), peerIds, CommandFlags.FireAndForget);

    /// <summary>The rooms that have members on any daemon, found by a scan of the keys (for the operator API).</summary>
    public async Task<IReadOnlyList<string>> RoomNames()
    {
        const string Prefix = "turn:room:", Suffix = ":members";
        var rooms = new List<string>();
        foreach (System.Net.EndPoint endpoint in _redis.GetEndPoints())
        {
            IServer server = _redis.GetServer(endpoint);
            if (server.IsReplica || !server.IsConnected)
            {
                continue;
            }

            await foreach (RedisKey key in server.KeysAsync(_db.Database, Prefix + "*" + Suffix, pageSize: 500).ConfigureAwait(false))
            {
                string name = key.ToString();
                rooms.Add(name[Prefix.Length..^Suffix.Length]);
            }
        }

        return rooms;
    }

    /// <summary>
    /// Takes one from a rate shared by every daemon (a generic cell rate: one per
    /// <paramref name="intervalMs"/>, bursts of <paramref name="burst"/>, on Redis's clock):
    /// 0 when taken, else how many milliseconds until one is free.
    /// </summary>
    public async Task<long> TakeRate(string rate, UInt128 source, long intervalMs, int burst)
    {
        const string Script = """
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            local interval = tonumber(ARGV[1])
            local burst = tonumber(ARGV[2])
            local tat = tonumber(redis.call('GET', KEYS[1]) or now)
            if tat < now then tat = now end
            local after = tat + interval
            if after - now > burst * interval then return after - now - burst * interval end
            redis.call('SET', KEYS[1], after, 'PX', after - now)
            return 0
            """;
        RedisKey key = $"turn:rate:{rate}:{source:x32}";
        return (long)await _db.ScriptEvaluateAsync(Script, [key], [intervalMs, burst]).ConfigureAwait(false);
    }

    /// <summary>Removes a member without waiting for Redis.</summary>
    public void ForgetMember(string room, string peerId) => _db.HashDelete(MembersKey(room), peerId, CommandFlags.FireAndForget);

    /// <summary>Remembers which room and member a resume token is for (a day at most), without waiting.</summary>
    public void RememberSeat(string token, string room, string peerId)
        => _db.StringSet(SeatKey(token), room + "\n" + peerId, TimeSpan.FromDays(1), flags: CommandFlags.FireAndForget);

    public void ForgetSeat(string token) => _db.KeyDelete(SeatKey(token), CommandFlags.FireAndForget);

    /// <summary>The room and member a resume token is for, or null.</summary>
    public async Task<(string Room, string PeerId)?> FindSeat(string token)
    {
        string? value = await _db.StringGetAsync(SeatKey(token)).ConfigureAwait(false);
        int newline = value?.IndexOf('\n') ?? -1;
        return newline > 0 ? (value![..newline], value[(newline + 1)..]) : null;
    }

    /// <summary>One member's entry, or null.</summary>
    public async Task<byte[]?> MemberEntry(string room, string peerId) => (byte[]?)await _db.HashGetAsync(MembersKey(room), peerId).ConfigureAwait(false);

    /// <summary>Replaces a member's entry, without waiting (sent before what this connection sends next).</summary>
    public void ReplaceMember(string room, string peerId, byte[] entry) => _db.HashSet(MembersKey(room), peerId, entry, flags: CommandFlags.FireAndForget);

    /// <summary>How many members the room has on every daemon.</summary>
    public Task<long> MemberCount(string room) => _db.HashLengthAsync(MembersKey(room));

    /// <summary>Every member's entry, as bytes.</summary>
    public async Task<IReadOnlyList<byte[]>> MemberEntries(string room) => [.. (await _db.HashValuesAsync(MembersKey(room)).ConfigureAwait(false)).Select(v => (byte[])v!)];

    /// <summary>Marks this node alive without waiting.</summary>
    public void HeartbeatLater() => _db.StringSet(NodeKey(Node), "1", NodeLifetime, flags: CommandFlags.FireAndForget);

    /// <summary>
    /// Starts handing the room's events to <paramref name="handler"/>, one at a time and in the
    /// order Redis sent them; completes when the subscription holds. Unsubscribe with the queue.
    /// </summary>
    public async Task<ChannelMessageQueue> Subscribe(string room, Action<byte[]> handler)
    {
        ChannelMessageQueue queue = await _subscriber.SubscribeAsync(Channel(room)).ConfigureAwait(false);
        queue.OnMessage(message => handler((byte[])message.Message!));
        return queue;
    }

    /// <summary>Stops a room's subscription (others of the same room go on), without waiting.</summary>
    public static void UnsubscribeLater(ChannelMessageQueue queue) => queue.Unsubscribe(CommandFlags.FireAndForget);

    /// <summary>Sends an event without waiting for Redis.</summary>
    public void PublishLater(string room, byte[] message) => _subscriber.Publish(Channel(room), message, CommandFlags.FireAndForget);

    private static RedisChannel Channel(string room) => RedisChannel.Sharded("turn:room:" + room);

    private static RedisKey MembersKey(string room) => "turn:room:" + room + ":members";

    private static RedisKey NodeKey(string node) => "turn:node:" + node;

    private static RedisKey SeatKey(string token) => "turn:resume:" + token;

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync().ConfigureAwait(false);
}
