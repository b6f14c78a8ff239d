namespace Turn.Configuration;

/// <summary>What the daemon hands browsers as iceServers (signaling joins and /api/ice-servers).</summary>
internal sealed record IceOptions
{
    /// <summary>Host name or address browsers reach this server at; empty: the first specific listen or external address.</summary>
    public string? PublicHost { get; init; }

    /// <summary>Explicit URIs instead of the derived stun:/turn:/turns: set.</summary>
    public IReadOnlyList<string> Urls { get; init; } = [];

    /// <summary>
    /// Lifetime of the TURN REST credentials handed out: short, since whoever holds them can allocate;
    /// an allocation made with them keeps working past it (refreshes reuse its key).
    /// </summary>
    public int CredentialTtlSeconds { get; init; } = 600;
}
