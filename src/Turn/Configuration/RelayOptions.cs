using System.Net;
using Turn.Relay;

namespace Turn.Configuration;

internal sealed record RelayOptions
{
    /// <summary>Addresses relay sockets bind, at most one per family; empty: derived from the listen addresses and interfaces.</summary>
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [];

    /// <summary>For 1:1 NAT: "external" or "external/private" pairs; clients are told the external address.</summary>
    public IReadOnlyList<(IPAddress External, IPAddress? Private)> ExternalAddresses { get; init; } = [];

    public int MinPort { get; init; } = 49152;

    public int MaxPort { get; init; } = 65535;

    public RelayLimits Limits { get; init; } = new();

    /// <summary>Peers refused in addition to <see cref="PeerFilter.DefaultDenied"/>.</summary>
    public IReadOnlyList<IpPrefix> DeniedPeers { get; init; } = [];

    /// <summary>Entries of <see cref="PeerFilter.DefaultDenied"/> the operator takes out, each exactly as listed there.</summary>
    public IReadOnlyList<IpPrefix> RemoveBuiltInDeniedPeers { get; init; } = [];

    /// <summary>The deny list in force: the built-in entries not removed, then the operator's own.</summary>
    public IReadOnlyList<IpPrefix> EffectiveDeniedPeers()
    {
        var denied = new List<IpPrefix>();
        foreach (IpPrefix prefix in PeerFilter.DefaultDenied)
        {
            if (!RemoveBuiltInDeniedPeers.Contains(prefix))
            {
                denied.Add(prefix);
            }
        }

        denied.AddRange(DeniedPeers);
        return denied;
    }

    /// <summary>Exceptions to the deny list.</summary>
    public IReadOnlyList<IpPrefix> AllowedPeers { get; init; } = [];

    /// <summary>Test-only: lets allocations reach 127.0.0.0/8 and ::1. Never on in production.</summary>
    public bool UnsafeAllowLoopbackPeers { get; init; }

    /// <summary>Blocks whose reachability turns the relay against its own host or its cloud's metadata services.</summary>
    private static readonly (IpPrefix Block, string What)[] HostRanges =
    [
        (IpPrefix.Parse("127.0.0.0/8"), "loopback: this host's own services"),
        (IpPrefix.Parse("::1/128"), "loopback: this host's own services"),
        (IpPrefix.Parse("169.254.0.0/16"), "link-local: the cloud metadata service at 169.254.169.254"),
        (IpPrefix.Parse("fe80::/10"), "link-local"),
        (IpPrefix.Parse("fc00::/7"), "unique-local: the AWS metadata service at fd00:ec2::254"),
        (IpPrefix.Parse("100.64.0.0/10"), "shared address space: the Alibaba Cloud metadata service at 100.100.100.200"),
    ];

    /// <summary>What <see cref="RemoveBuiltInDeniedPeers"/> and <see cref="AllowedPeers"/> open of loopback, link-local and metadata ranges, one sentence each.</summary>
    public IEnumerable<string> ReachableHostRanges()
    {
        foreach ((IpPrefix block, string what) in HostRanges)
        {
            if (RemoveBuiltInDeniedPeers.Contains(block))
            {
                yield return $"Relay:RemoveBuiltInDeniedPeers takes {block} off the deny list: allocations may reach {what}";
            }

            for (int i = 0; i < AllowedPeers.Count; i++)
            {
                if (AllowedPeers[i].Overlaps(block))
                {
                    yield return $"Relay:AllowedPeers:{i} ({AllowedPeers[i]}) lets allocations reach {block}, {what}";
                }
            }
        }
    }
}
