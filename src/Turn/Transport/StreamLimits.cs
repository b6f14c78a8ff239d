namespace Turn.Transport;

/// <summary>Bounds on TCP and TLS client connections.</summary>
internal sealed record StreamLimits(int MaxConnections, TimeSpan IdleTimeout, TimeSpan HandshakeTimeout);
