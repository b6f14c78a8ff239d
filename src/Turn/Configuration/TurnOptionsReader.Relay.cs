using System.Net;
using Turn.Relay;

namespace Turn.Configuration;

/// <summary>The Relay section: addresses, ports, peer lists and the deny list, limits.</summary>
internal static partial class TurnOptionsReader
{
    private static RelayOptions ReadRelay(ConfigReader r, RelayOptions defaults)
    {
        RelayLimits limits = defaults.Limits;
        int minPort = r.Port("Relay:MinPort", defaults.MinPort);
        int maxPort = r.Port("Relay:MaxPort", defaults.MaxPort);
        if (maxPort < minPort)
        {
            r.Error("Relay:MaxPort", maxPort.ToString(System.Globalization.CultureInfo.InvariantCulture), $"is below Relay:MinPort ({minPort})");
        }

        var relay = new RelayOptions
        {
            Addresses = ReadAddresses(r, "Relay:Addresses", allowEmpty: true) ?? defaults.Addresses,
            ExternalAddresses = ReadExternal(r),
            MinPort = minPort,
            MaxPort = maxPort,
            DeniedPeers = ReadPrefixes(r, "Relay:DeniedPeers") ?? [],
            RemoveBuiltInDeniedPeers = ReadBuiltInRemovals(r),
            AllowedPeers = ReadPrefixes(r, "Relay:AllowedPeers") ?? [],
            UnsafeAllowLoopbackPeers = r.Bool("Relay:UnsafeAllowLoopbackPeers", defaults.UnsafeAllowLoopbackPeers),
            Limits = new RelayLimits
            {
                DefaultLifetimeSeconds = r.Int("Relay:DefaultLifetimeSeconds", limits.DefaultLifetimeSeconds, 60, 86_400),
                MaxLifetimeSeconds = r.Int("Relay:MaxLifetimeSeconds", limits.MaxLifetimeSeconds, 60, 86_400),
                MaxAllocations = r.Int("Relay:MaxAllocations", limits.MaxAllocations, 1, 1_000_000),
                MaxAllocationsPerUser = r.Int("Relay:MaxAllocationsPerUser", limits.MaxAllocationsPerUser, 1, 1_000_000),
                MaxAllocationsPerAddress = r.Int("Relay:MaxAllocationsPerAddress", limits.MaxAllocationsPerAddress, 1, 1_000_000),
                MaxPermissionsPerAllocation = r.Int("Relay:MaxPermissionsPerAllocation", limits.MaxPermissionsPerAllocation, 1, 1024),
                MaxChannelsPerAllocation = r.Int("Relay:MaxChannelsPerAllocation", limits.MaxChannelsPerAllocation, 1, 4096),
                BandwidthBytesPerSecond = r.Int("Relay:BandwidthBytesPerSecond", (int)Math.Min(limits.BandwidthBytesPerSecond, int.MaxValue), 0, int.MaxValue),
            },
        };

        if (relay.Limits.MaxLifetimeSeconds < relay.Limits.DefaultLifetimeSeconds)
        {
            r.Error("Relay:MaxLifetimeSeconds", relay.Limits.MaxLifetimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "is below Relay:DefaultLifetimeSeconds");
        }

        for (int i = 0; i < relay.Addresses.Count; i++)
        {
            IPAddress address = relay.Addresses[i];
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            {
                r.Error($"Relay:Addresses:{i}", address.ToString(), "must be a specific address: clients are told it");
            }
            else if (relay.Addresses.Take(i).Any(a => a.AddressFamily == address.AddressFamily))
            {
                r.Error($"Relay:Addresses:{i}", address.ToString(), "is a second address of its family; give one IPv4 and one IPv6 at most");
            }
        }

        WarnOfReachableHostRanges(r, relay);
        return relay;
    }

    /// <summary>Entries of the built-in deny list to take out; each must be one of them, exactly.</summary>
    private static List<IpPrefix> ReadBuiltInRemovals(ConfigReader r)
    {
        const string key = "Relay:RemoveBuiltInDeniedPeers";
        var removals = new List<IpPrefix>();
        IReadOnlyList<string> items = r.List(key) ?? [];
        for (int i = 0; i < items.Count; i++)
        {
            if (!IpPrefix.TryParse(items[i], out IpPrefix prefix))
            {
                r.Error($"{key}:{i}", items[i], "is not an address or prefix such as 10.0.0.0/8 (host bits must be zero)");
            }
            else if (!PeerFilter.DefaultDenied.Contains(prefix))
            {
                r.Error($"{key}:{i}", items[i], $"is not an entry of the built-in deny list; name one exactly: {string.Join(", ", PeerFilter.DefaultDenied)}");
            }
            else
            {
                removals.Add(prefix);
            }
        }

        return removals;
    }

    /// <summary>Warns (at start and in check-config) when a setting lets allocations reach loopback or link-local addresses.</summary>
    private static void WarnOfReachableHostRanges(ConfigReader r, RelayOptions relay)
    {
        foreach (string warning in relay.ReachableHostRanges())
        {
            r.Warning(warning);
        }

        if (relay.UnsafeAllowLoopbackPeers)
        {
            r.Warning("Relay:UnsafeAllowLoopbackPeers is true: allocations may reach this host's loopback services (for tests only)");
        }
    }

    private static List<(IPAddress, IPAddress?)> ReadExternal(ConfigReader r)
    {
        const string key = "Relay:ExternalAddresses";
        var pairs = new List<(IPAddress, IPAddress?)>();
        IReadOnlyList<string> items = r.List(key) ?? [];
        for (int i = 0; i < items.Count; i++)
        {
            string[] parts = items[i].Split('/', 2);
            if (!IPAddress.TryParse(parts[0], out IPAddress? external))
            {
                r.Error($"{key}:{i}", items[i], "is not \"external\" or \"external/private\" IP addresses");
                continue;
            }

            IPAddress? inner = null;
            if (parts.Length == 2 && (!IPAddress.TryParse(parts[1], out inner) || inner.AddressFamily != external.AddressFamily))
            {
                r.Error($"{key}:{i}", items[i], "is not \"external/private\" with two addresses of one family");
                continue;
            }

            pairs.Add((external, inner));
        }

        return pairs;
    }
}
