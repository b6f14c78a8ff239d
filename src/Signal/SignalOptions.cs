namespace Turn.Signal;

/// <summary>Limits and switches of the signaling endpoint; one immutable snapshot.</summary>
public sealed partial record SignalOptions
{
    /// <summary>The WebSocket route.</summary>
    public string Path { get; init; } = "/signal";

    /// <summary>Origins allowed to open the WebSocket ("https://app.example.org"); empty allows only same-host pages and non-browser clients without Origin.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Largest message a client may send, in bytes.</summary>
    public int MaxMessageBytes { get; init; } = 16 * 1024;

    /// <summary>Messages per second a connection may send, with a burst of twice that.</summary>
    public int MessagesPerSecond { get; init; } = 50;

    public int MaxPeersPerRoom { get; init; } = 50;

    public int MaxRooms { get; init; } = 10_000;

    /// <summary>How long a dropped peer keeps its id and seat for a resume.</summary>
    public int ResumeGraceSeconds { get; init; } = 30;

    /// <summary>Messages kept for a peer that is away; older ones are dropped first.</summary>
    public int ResumeQueueLength { get; init; } = 100;

    /// <summary>Messages waiting to be written to one connection; a reader slower than this is disconnected.</summary>
    public int SendQueueLength { get; init; } = 256;

    /// <summary>Server WebSocket ping interval; a peer silent for three intervals is dropped.</summary>
    public int PingIntervalSeconds { get; init; } = 20;

    /// <summary>Bytes waiting to be written to one connection; a reader slower than this is disconnected.</summary>
    public int SendQueueBytes { get; init; } = 256 * 1024;

    /// <summary>Bytes kept for a peer that is away; older messages are dropped first.</summary>
    public int ResumeQueueBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Bytes queued in all (send queues and what is kept for away peers). Past it, messages for
    /// connections that are behind and for away peers are dropped: memory stays bounded whatever
    /// the clients do.
    /// </summary>
    public long MaxQueuedBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Bytes queued for one client address's connections and away seats: its share of <see cref="MaxQueuedBytes"/>.</summary>
    public long MaxQueuedBytesPerAddress { get; init; } = 16L * 1024 * 1024;

    /// <summary>Signaling connections open at once, from all addresses; past it the upgrade gets 503.</summary>
    public int MaxConnections { get; init; } = 20_000;

    /// <summary>When set, joins need a token signed with it (HMAC-SHA256, room and expiry claims).</summary>
    public string? JoinTokenSecret { get; init; }

    /// <summary>A Redis (StackExchange.Redis configuration, e.g. "redis:6379") through which daemons share rooms; null: rooms live in this daemon only.</summary>
    public string? Redis { get; init; }

    /// <summary>When set, the HTTP API needs "Authorization: Bearer KEY".</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Lets anyone join any room and get TURN credentials, with no join token: the relay is then
    /// open to whoever reaches the HTTP port, within the per-address limits. Without it, and without
    /// <see cref="JoinTokenSecret"/>, only clients on this host are admitted (development).
    /// </summary>
    public bool UnsafeOpenAdmission { get; init; }

    /// <summary>TURN credentials minted per minute for one client address (joins, resumes, refreshes, /api/ice-servers without the key).</summary>
    public int CredentialsPerMinute { get; init; } = 30;

    /// <summary>Joins per second from one client address, with bursts of four times that.</summary>
    public int JoinsPerSecond { get; init; } = 5;

    /// <summary>Signaling connections open at once from one client address (an IPv6 /64).</summary>
    public int MaxConnectionsPerAddress { get; init; } = 256;

    /// <summary>Seats (peers, connected or away) one client address may hold in all rooms. Generous: offices and carrier NATs put many people behind one address.</summary>
    public int MaxPeersPerAddress { get; init; } = 256;

    /// <summary>Seats one client address may hold in one room, so that it cannot fill a room for everyone else.</summary>
    public int MaxPeersPerRoomPerAddress { get; init; } = 25;

    /// <summary>Rooms one client address may have created that still exist.</summary>
    public int MaxRoomsPerAddress { get; init; } = 64;

    /// <summary>The mode in which joins and /api/ice-servers admit clients that bring no key.</summary>
    /// <summary>How often the server pings a WebSocket (Signal:PingIntervalSeconds).</summary>
    public TimeSpan KeepAliveInterval => TimeSpan.FromSeconds(PingIntervalSeconds);

    /// <summary>How long a ping may go unanswered before the connection counts as dead: three intervals.</summary>
    public TimeSpan KeepAliveTimeout => TimeSpan.FromSeconds(PingIntervalSeconds * 3);

    public SignalAdmission Admission => JoinTokenSecret is not null ? SignalAdmission.JoinToken : UnsafeOpenAdmission ? SignalAdmission.Open : SignalAdmission.LocalOnly;
}
