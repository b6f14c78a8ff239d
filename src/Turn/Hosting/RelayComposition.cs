using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Turn.Auth;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Turn.Wire;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>Builds the TURN side from the options: relay addresses, ports, peer policy, credentials.</summary>
internal static class RelayComposition
{
    /// <param name="host">This host's interface addresses, kept current by <see cref="HostAddressMonitor"/>; null: read once now.</param>
    public static RelayServices Build(TurnOptions options, IRelayPorts ports, IAllocationEvents? events = null, HostAddresses? host = null)
    {
        var credentials = new CredentialStore(options.Auth.Realm, options.Auth.Users, options.Auth.Secrets);
        var authenticator = new Authenticator(credentials, new NonceService(lifetimeSeconds: options.Auth.NonceLifetimeSeconds));
        var services = new RelayServices(authenticator, new AllocationTable(events), ports, Peers(options, host ?? new HostAddresses(HostAddressMonitor.Read())), options.Relay.Limits, AddressMap(options), new SourceBudget(options.Auth.UnauthenticatedBytesPerSecond))
        {
            AlternateServer = AlternateServer(options),
        };
        return services;
    }

    /// <summary>
    /// A reloaded snapshot: new credentials, peer lists, quotas and drain target over the same
    /// allocations, relay ports, nonce key and drain state, so nothing in flight notices.
    /// </summary>
    public static RelayServices Reload(RelayServices current, TurnOptions options)
    {
        var credentials = new CredentialStore(options.Auth.Realm, options.Auth.Users, options.Auth.Secrets);
        return current with
        {
            Authenticator = new Authenticator(credentials, current.Authenticator.Nonces),
            Peers = Peers(options, current.Peers.Host),
            Limits = options.Relay.Limits,
            AddressMap = AddressMap(options),
            // The same budget keeps what sources have spent; only a new rate starts afresh.
            UnauthenticatedBudget = current.UnauthenticatedBudget?.BytesPerSecond == options.Auth.UnauthenticatedBytesPerSecond
                ? current.UnauthenticatedBudget
                : new SourceBudget(options.Auth.UnauthenticatedBytesPerSecond),
            AlternateServer = AlternateServer(options),
        };
    }

    private static StunAddress? AlternateServer(TurnOptions options)
        => options.Drain.AlternateServer is { } alternate ? StunAddress.FromIPEndPoint(alternate) : null;

    private static RelayAddressMap AddressMap(TurnOptions options)
    {
        IPAddress? relay4 = RelayAddress(options, AddressFamily.InterNetwork);
        IPAddress? relay6 = RelayAddress(options, AddressFamily.InterNetworkV6);
        var map = new List<(StunAddress, StunAddress)>();
        foreach ((IPAddress external, IPAddress? inner) in options.Relay.ExternalAddresses)
        {
            IPAddress? privateAddress = inner ?? (external.AddressFamily == AddressFamily.InterNetwork ? relay4 : relay6);
            if (privateAddress is not null)
            {
                map.Add((Address(privateAddress), Address(external)));
            }
        }

        return new RelayAddressMap(map);
    }

    private static PeerFilter Peers(TurnOptions options, HostAddresses host)
    {
        RelayOptions relay = options.Relay;
        IPAddress? relay4 = RelayAddress(options, AddressFamily.InterNetwork);
        IPAddress? relay6 = RelayAddress(options, AddressFamily.InterNetworkV6);
        var own = new List<StunAddress>();
        foreach (IPAddress address in OwnAddresses(options, relay4, relay6))
        {
            own.Add(Address(address));
        }

        var listeners = new List<StunAddress>();
        foreach (ListenEndpoint endpoint in ListenPlan.Endpoints(options, withTls: true))
        {
            listeners.Add(StunAddress.FromIPEndPoint(endpoint.EndPoint));
        }

        return new PeerFilter(relay.EffectiveDeniedPeers(), relay.AllowedPeers, listeners, own, host, relay.MinPort, relay.MaxPort, relay.UnsafeAllowLoopbackPeers);
    }

    public static IPAddress? RelayAddress(TurnOptions options, AddressFamily family)
    {
        foreach (IPAddress address in options.Relay.Addresses)
        {
            if (address.AddressFamily == family)
            {
                return address;
            }
        }

        if (options.Relay.Addresses.Count > 0)
        {
            return null;
        }

        IPAddress? specific = TurnOptionsReader.PrimaryFor(options.Listen, family);
        if (specific is not null)
        {
            return specific;
        }

        bool wildcard = options.Listen.Addresses.Any(a => a.AddressFamily == family);
        return wildcard ? InterfaceAddresses(family).FirstOrDefault() : null;
    }

    /// <summary>The configured addresses that are this host's; a wildcard listen is covered by the interface addresses.</summary>
    private static IEnumerable<IPAddress> OwnAddresses(TurnOptions options, IPAddress? relay4, IPAddress? relay6)
    {
        var all = new List<IPAddress>();
        foreach (IPAddress address in options.Listen.Addresses)
        {
            if (!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            {
                all.Add(address);
            }
        }

        if (relay4 is not null)
        {
            all.Add(relay4);
        }

        if (relay6 is not null)
        {
            all.Add(relay6);
        }

        all.AddRange(options.Relay.ExternalAddresses.Select(p => p.External));
        all.AddRange(options.Relay.ExternalAddresses.Select(p => p.Private).OfType<IPAddress>());
        if (options.Rfc5780.AlternateAddress is not null)
        {
            all.Add(options.Rfc5780.AlternateAddress);
        }

        return all.Distinct();
    }

    /// <summary>Unicast addresses of interfaces that are up, loopback and IPv6 link-local left out.</summary>
    private static IEnumerable<IPAddress> InterfaceAddresses(AddressFamily family)
    {
        foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (UnicastIPAddressInformation unicast in nic.GetIPProperties().UnicastAddresses)
            {
                IPAddress address = unicast.Address;
                if (address.AddressFamily == family && !address.IsIPv6LinkLocal && !IPAddress.IsLoopback(address))
                {
                    yield return address;
                }
            }
        }
    }

    private static StunAddress Address(IPAddress address) => StunAddress.FromIPEndPoint(new IPEndPoint(address, 0));
}
