using System.Net.Sockets;
using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// Decides whether an allocation may have a permission for, and send to, a peer (RFC 8656 §21.3 leaves
/// the policy to the server; §17.1 answers a refused peer with 403). A peer is judged as written (raw)
/// and, when it is an IPv6 address that embeds an IPv4 one, as that IPv4 address too (canonical c,
/// <see cref="AddressCanonicalizer"/>); the rules run in order:
/// <list type="number">
/// <item>an IPv4-mapped address (::ffff:a.b.c.d) is taken as the IPv4 address it maps, where datagrams go;</item>
/// <item>an unspecified address (0.0.0.0, ::) or port 0, in either form, is denied;</item>
/// <item>raw or c equal to one of the server's listening endpoints is denied (relaying into ourselves loops);</item>
/// <item>raw, not an embedding form, on one of the host's own addresses with a port in the relay range
/// is allowed: another allocation on this server, even on a private relay address (the handler still
/// checks that a live allocation holds it). An embedded form never takes this exception: it would be
/// judged on c while the datagram went to raw;</item>
/// <item>an embedding form whose c is one of the host's own addresses is denied;</item>
/// <item>then raw, c, a Teredo address's server IPv4 and, inside 64:ff9b:1::/48, the IPv4 of every
/// RFC 6052 layout must each pass on their own: a form passes when
/// it is loopback under the test-only switch, or else not one of the host's own addresses and either
/// inside an allowed prefix or outside every denied one. So the deny list of the raw form can never be
/// skipped because the canonical form was allowed, nor the other way round.</item>
/// </list>
/// Built from configuration and <see cref="HostAddresses"/> (kept current by the host); <see cref="Evaluate"/>
/// only reads arrays and allocates nothing.
/// </summary>
internal sealed class PeerFilter
{
    private readonly IpPrefix[] _denied4;
    private readonly IpPrefix[] _denied6;
    private readonly IpPrefix[] _allowed4;
    private readonly IpPrefix[] _allowed6;
    private readonly StunAddress[] _listeners;
    private readonly ushort[] _wildcardListenerPorts;
    private readonly StunAddress[] _ownAddresses;
    private readonly HostAddresses _host;
    private readonly int _relayPortMin;
    private readonly int _relayPortMax;
    private readonly bool _allowLoopback;

    /// <param name="denied">Peer prefixes to refuse, usually <see cref="DefaultDenied"/> plus the operator's own.</param>
    /// <param name="allowed">Peer prefixes the operator allows even when denied.</param>
    /// <param name="ownListenEndpoints">The server's listening endpoints (IP and port); 0.0.0.0 or :: stands
    /// for the port on every own address and on loopback.</param>
    /// <param name="ownAddresses">The server's listen, relay and external IPs; ports are ignored, and an
    /// unspecified address is skipped.</param>
    /// <param name="host">The addresses of this host's interfaces, kept current by whoever owns it.</param>
    /// <param name="relayPortMin">Lowest relay port, inclusive.</param>
    /// <param name="relayPortMax">Highest relay port, inclusive.</param>
    /// <param name="allowLoopback">Test-only: allow loopback peers.</param>
    public PeerFilter(
        IReadOnlyList<IpPrefix> denied,
        IReadOnlyList<IpPrefix> allowed,
        IReadOnlyCollection<StunAddress> ownListenEndpoints,
        IReadOnlyCollection<StunAddress> ownAddresses,
        HostAddresses host,
        int relayPortMin,
        int relayPortMax,
        bool allowLoopback)
    {
        ArgumentNullException.ThrowIfNull(denied);
        ArgumentNullException.ThrowIfNull(allowed);
        ArgumentNullException.ThrowIfNull(ownListenEndpoints);
        ArgumentNullException.ThrowIfNull(ownAddresses);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(relayPortMin, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(relayPortMax, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(relayPortMin, relayPortMax);

        _denied4 = OfFamily(denied, AddressFamily.InterNetwork);
        _denied6 = OfFamily(denied, AddressFamily.InterNetworkV6);
        _allowed4 = OfFamily(allowed, AddressFamily.InterNetwork);
        _allowed6 = OfFamily(allowed, AddressFamily.InterNetworkV6);

        var listeners = new List<StunAddress>();
        var wildcardPorts = new List<ushort>();
        foreach (StunAddress endpoint in ownListenEndpoints)
        {
            StunAddress canonical = AddressCanonicalizer.Canonicalize(endpoint);
            if (canonical.Address == UInt128.Zero)
            {
                wildcardPorts.Add(endpoint.Port);
                continue;
            }

            listeners.Add(endpoint);
            if (canonical != endpoint)
            {
                listeners.Add(canonical);
            }
        }

        _listeners = [.. listeners];
        _wildcardListenerPorts = [.. wildcardPorts];
        _ownAddresses = HostAddresses.Normalise(ownAddresses);
        _host = host;
        _relayPortMin = relayPortMin;
        _relayPortMax = relayPortMax;
        _allowLoopback = allowLoopback;
    }

    /// <summary>A filter whose own addresses are a fixed list (<paramref name="ownAddresses"/>; ports ignored).</summary>
    public PeerFilter(
        IReadOnlyList<IpPrefix> denied,
        IReadOnlyList<IpPrefix> allowed,
        IReadOnlyCollection<StunAddress> ownListenEndpoints,
        IReadOnlyCollection<StunAddress> ownAddresses,
        int relayPortMin,
        int relayPortMax,
        bool allowLoopback)
        : this(denied, allowed, ownListenEndpoints, ownAddresses, new HostAddresses(), relayPortMin, relayPortMax, allowLoopback)
    {
    }

    /// <summary>
    /// Peers no relay should reach unless the operator says otherwise: eturnal's recommended list plus
    /// the IPv6 blocks that are not globally reachable (IANA special-purpose registries, RFC 6890).
    /// </summary>
    public static IReadOnlyList<IpPrefix> DefaultDenied { get; } = Array.AsReadOnly(
    [
        IpPrefix.Parse("0.0.0.0/8"), // "this network" (RFC 1122 §3.2.1.3); 0.0.0.0 reached loopback in CVE-2020-26262
        IpPrefix.Parse("10.0.0.0/8"), // private (RFC 1918)
        IpPrefix.Parse("100.64.0.0/10"), // shared address space, carrier-grade NAT (RFC 6598)
        IpPrefix.Parse("127.0.0.0/8"), // loopback (RFC 1122 §3.2.1.3)
        IpPrefix.Parse("169.254.0.0/16"), // link-local, cloud metadata at 169.254.169.254 (RFC 3927)
        IpPrefix.Parse("172.16.0.0/12"), // private (RFC 1918)
        IpPrefix.Parse("192.0.0.0/24"), // IETF protocol assignments (RFC 6890 §2.2.2)
        IpPrefix.Parse("192.0.2.0/24"), // TEST-NET-1 (RFC 5737)
        IpPrefix.Parse("192.88.99.0/24"), // 6to4 relay anycast, deprecated (RFC 7526)
        IpPrefix.Parse("192.168.0.0/16"), // private (RFC 1918)
        IpPrefix.Parse("198.18.0.0/15"), // benchmarking (RFC 2544)
        IpPrefix.Parse("198.51.100.0/24"), // TEST-NET-2 (RFC 5737)
        IpPrefix.Parse("203.0.113.0/24"), // TEST-NET-3 (RFC 5737)
        IpPrefix.Parse("224.0.0.0/4"), // multicast (RFC 5771)
        IpPrefix.Parse("240.0.0.0/4"), // reserved (RFC 1112 §4), with limited broadcast 255.255.255.255 (RFC 919)
        IpPrefix.Parse("::/128"), // unspecified (RFC 4291 §2.5.2); [::] reached loopback in CVE-2020-26262
        IpPrefix.Parse("::1/128"), // loopback (RFC 4291 §2.5.3)
        IpPrefix.Parse("::/96"), // IPv4-compatible, deprecated (RFC 4291 §2.5.5.1); never a real peer
        IpPrefix.Parse("::ffff:0:0/96"), // IPv4-mapped (RFC 4291 §2.5.5.2); the IPv4 inside is judged too
        IpPrefix.Parse("::ffff:0:0:0/96"), // IPv4-translated, SIIT (RFC 2765 §2.1)
        IpPrefix.Parse("64:ff9b::/96"), // NAT64 well-known prefix (RFC 6052 §2.1)
        IpPrefix.Parse("64:ff9b:1::/48"), // NAT64 local-use prefix (RFC 8215)
        IpPrefix.Parse("100::/64"), // discard-only (RFC 6666)
        IpPrefix.Parse("2001::/32"), // Teredo (RFC 4380)
        IpPrefix.Parse("2001:2::/48"), // benchmarking (RFC 5180)
        IpPrefix.Parse("2001:db8::/32"), // documentation (RFC 3849)
        IpPrefix.Parse("2002::/16"), // 6to4 (RFC 3056)
        IpPrefix.Parse("3fff::/20"), // documentation (RFC 9637)
        IpPrefix.Parse("5f00::/16"), // SRv6 segment identifiers, not globally reachable (RFC 9602)
        IpPrefix.Parse("fc00::/7"), // unique local, incl. AWS metadata fd00:ec2::254 (RFC 4193)
        IpPrefix.Parse("fe80::/10"), // link-local (RFC 4291 §2.5.6)
        IpPrefix.Parse("fec0::/10"), // site-local, deprecated (RFC 3879)
        IpPrefix.Parse("ff00::/8"), // multicast (RFC 4291 §2.7)
    ]);

    /// <summary>The interface addresses this filter reads; a reloaded filter shares them.</summary>
    public HostAddresses Host => _host;

    /// <summary>True when a verdict lets the peer through.</summary>
    public static bool Allows(PeerVerdict verdict) => verdict < PeerVerdict.DeniedUnspecified;

    public bool IsAllowed(StunAddress peer) => Allows(Evaluate(peer));

    /// <summary>
    /// For an <see cref="PeerVerdict.AllowedOwnRelay"/> address that turns out not to be a live
    /// allocation: allowed only as a loopback peer under the test switch, like any other loopback port.
    /// </summary>
    public bool AllowsAsLoopback(StunAddress peer) => _allowLoopback && IsLoopback(peer);

    /// <summary>The first rule that decides the peer; see the class summary for the order.</summary>
    public PeerVerdict Evaluate(StunAddress peer)
    {
        if (!IsIPFamily(peer.Family))
        {
            return PeerVerdict.DeniedUnspecified;
        }

        // An IPv4-mapped address is the IPv4 node itself (RFC 4291 §2.5.5.2): the handlers send to
        // the IPv4 address, so it is judged as that address, exceptions included.
        if (AddressCanonicalizer.IsIPv4Mapped(peer))
        {
            peer = AddressCanonicalizer.Canonicalize(peer);
        }

        StunAddress c = AddressCanonicalizer.Canonicalize(peer);
        bool embedded = c != peer;
        if (peer.Port == 0 || c.Port == 0 || peer.Address == UInt128.Zero || c.Address == UInt128.Zero)
        {
            return PeerVerdict.DeniedUnspecified;
        }

        if (IsOwnListener(peer) || (embedded && IsOwnListener(c)))
        {
            return PeerVerdict.DeniedOwnListener;
        }

        if (!embedded)
        {
            return IsOwnAddress(peer) && peer.Port >= _relayPortMin && peer.Port <= _relayPortMax
                ? PeerVerdict.AllowedOwnRelay
                : Judge(peer);
        }

        if (IsOwnAddress(c))
        {
            return PeerVerdict.DeniedOwnAddress;
        }

        PeerVerdict raw = Judge(peer);
        if (!Allows(raw))
        {
            return raw;
        }

        PeerVerdict canonical = Judge(c);
        if (!Allows(canonical))
        {
            return canonical;
        }

        // A Teredo relay on the path may contact the Teredo server (RFC 4380 §5.4), so it is judged too.
        if (AddressCanonicalizer.TryGetTeredoServer(peer, out StunAddress teredoServer) && !Allows(Judge(teredoServer)))
        {
            return PeerVerdict.DeniedByDenyList;
        }

        // Where the local-use NAT64 prefix is allowed, each layout's IPv4 address must pass too.
        Span<StunAddress> layouts = stackalloc StunAddress[4];
        int count = AddressCanonicalizer.Nat64LocalUseCandidates(peer, layouts);
        for (int i = 0; i < count; i++)
        {
            if (IsOwnAddress(layouts[i]) || !Allows(Judge(layouts[i])))
            {
                return PeerVerdict.DeniedByDenyList;
            }
        }

        return raw;
    }

    /// <summary>
    /// One form of a peer on its own: the loopback switch, then this host's addresses (which no allowed
    /// prefix opens: an operator allowing "our private network" means the other hosts on it), then
    /// allowed and denied prefixes.
    /// </summary>
    private PeerVerdict Judge(StunAddress address)
    {
        if (_allowLoopback && IsLoopback(address))
        {
            return PeerVerdict.AllowedLoopback;
        }

        if (IsOwnAddress(address))
        {
            return PeerVerdict.DeniedOwnAddress;
        }

        if (InAllowed(address))
        {
            return PeerVerdict.AllowedByAllowList;
        }

        return InDenied(address) ? PeerVerdict.DeniedByDenyList : PeerVerdict.Allowed;
    }

    private static bool IsIPFamily(AddressFamily family)
        => family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

    private static bool IsLoopback(StunAddress address)
        => address.IsIPv4 ? (uint)address.Address >> 24 == 127 : address.Address == UInt128.One;

    private static IpPrefix[] OfFamily(IReadOnlyList<IpPrefix> prefixes, AddressFamily family)
    {
        var selected = new List<IpPrefix>(prefixes.Count);
        for (int i = 0; i < prefixes.Count; i++)
        {
            if (prefixes[i].Family == family)
            {
                selected.Add(prefixes[i]);
            }
        }

        return [.. selected];
    }

    private static bool InAny(IpPrefix[] prefixes, StunAddress address)
    {
        foreach (IpPrefix prefix in prefixes)
        {
            if (prefix.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private bool InDenied(StunAddress address) => InAny(address.IsIPv4 ? _denied4 : _denied6, address);

    private bool InAllowed(StunAddress address) => InAny(address.IsIPv4 ? _allowed4 : _allowed6, address);

    /// <summary>One of this host's addresses, configured or on an interface, as written (the port ignored).</summary>
    private bool IsOwnAddress(StunAddress address) => HostAddresses.In(_ownAddresses, address) || _host.Contains(address);

    private bool IsOwnListener(StunAddress address)
    {
        foreach (StunAddress listener in _listeners)
        {
            if (listener == address)
            {
                return true;
            }
        }

        foreach (ushort port in _wildcardListenerPorts)
        {
            if (port == address.Port && (IsOwnAddress(address) || IsLoopback(address)))
            {
                return true;
            }
        }

        return false;
    }
}
