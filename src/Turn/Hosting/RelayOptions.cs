using System.Net;
using Turn.Relay;

namespace Turn.Hosting;

internal sealed record RelayOptions
{
    /// <summary>Addresses relay sockets bind, at most one per family; empty: derived from the listen addresses and interfaces.</summary>
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [];

    /// <summary>For 1:1 NAT: "external" or "external/private" pairs; clients are told the external address.</summary>
    public IReadOnlyList<(IPAddress External, IPAddress? Private)> ExternalAddresses { get; init; } = [];

    public int MinPort { get; init; } = 49152;

    public int MaxPort { get; init; } = 65535;

    public RelayLimits Limits { get; init; } = new();

    /// <summary>Peers refused; null: <see cref="PeerFilter.DefaultDenied"/>.</summary>
    public IReadOnlyList<IpPrefix>? DeniedPeers { get; init; }

    /// <summary>Exceptions to the deny list.</summary>
    public IReadOnlyList<IpPrefix> AllowedPeers { get; init; } = [];

    /// <summary>Test-only: lets allocations reach 127.0.0.0/8 and ::1. Never on in production.</summary>
    public bool UnsafeAllowLoopbackPeers { get; init; }
}
