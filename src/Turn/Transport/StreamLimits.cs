namespace Turn.Transport;

/// <summary>
/// Bounds on TCP and TLS client connections: in all and per client address (an IPv6 /64), how long
/// a connection may take to complete its first message (from accept, TLS handshake included) and
/// its TLS handshake, and how long it may go without completing a message.
/// </summary>
internal sealed record StreamLimits(int MaxConnections, TimeSpan IdleTimeout, TimeSpan HandshakeTimeout)
{
    public int MaxConnectionsPerAddress { get; init; } = int.MaxValue;

    public TimeSpan FirstMessageTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
