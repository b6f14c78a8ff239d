namespace Turn.Relay;

/// <summary>Lifetimes and quotas of allocations (RFC 8656 §7, §9, §12).</summary>
internal sealed record RelayLimits
{
    /// <summary>RFC 8656 §7.2: 600 s unless the client asks for more.</summary>
    public int DefaultLifetimeSeconds { get; init; } = 600;

    public int MaxLifetimeSeconds { get; init; } = 3600;

    /// <summary>RFC 8656 §9: a permission lasts 300 s.</summary>
    public int PermissionLifetimeSeconds { get; init; } = 300;

    /// <summary>RFC 8656 §12: a channel binding lasts 600 s.</summary>
    public int ChannelLifetimeSeconds { get; init; } = 600;

    public int MaxAllocations { get; init; } = 10_000;

    public int MaxAllocationsPerUser { get; init; } = 100;

    /// <summary>
    /// Allocations one client address (an IPv6 /64) may hold with minted (REST) credentials,
    /// whatever usernames it uses: they are minted per peer, so a per-user quota alone would not
    /// stop one source from multiplying them. Static users, the operator's own, are not counted.
    /// A browser in a mesh call holds up to three per peer it calls (UDP, TCP, TLS).
    /// </summary>
    public int MaxAllocationsPerAddress { get; init; } = 64;

    public int MaxPermissionsPerAllocation { get; init; } = 64;

    public int MaxChannelsPerAllocation { get; init; } = 64;

    /// <summary>Bytes per second each allocation may relay in each direction; 0 for no cap.</summary>
    public long BandwidthBytesPerSecond { get; init; }
}
