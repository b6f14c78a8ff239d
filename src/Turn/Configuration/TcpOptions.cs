namespace Turn.Configuration;

internal sealed record TcpOptions
{
    /// <summary>Connections open at once, per listening address.</summary>
    public int MaxConnections { get; init; } = 10000;

    /// <summary>Connections open at once from one client address (an IPv6 /64), over all TCP and TLS listeners.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 32;

    /// <summary>A connection with no complete message for this long is closed; partial bytes do not count.</summary>
    public int IdleTimeoutSeconds { get; init; } = 300;

    public int HandshakeTimeoutSeconds { get; init; } = 10;

    /// <summary>A connection must complete its first STUN message (or ChannelData) this long after it was accepted.</summary>
    public int FirstMessageSeconds { get; init; } = 10;
}
