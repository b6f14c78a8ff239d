namespace Turn.Signal;

/// <summary>Limits and switches of the signaling endpoint; one immutable snapshot.</summary>
public sealed record SignalOptions
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

    /// <summary>When set, joins need a token signed with it (HMAC-SHA256, room and expiry claims).</summary>
    public string? JoinTokenSecret { get; init; }

    /// <summary>When set, the HTTP API needs "Authorization: Bearer KEY".</summary>
    public string? ApiKey { get; init; }
}
