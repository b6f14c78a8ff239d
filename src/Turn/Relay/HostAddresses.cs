using System.Net.Sockets;
using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// Every IP address of every interface of this host (up or down, loopback and link-local included),
/// as last read. The set is replaced whole whenever the host's addresses change, so the peer filter,
/// which reads it on every packet, never judges by a list older than the last change it was told
/// of. One instance lives as long as the daemon and is shared by every reloaded filter. Reading
/// allocates nothing; an update swaps one array.
/// </summary>
internal sealed class HostAddresses
{
    private StunAddress[] _interfaces = [];

    public HostAddresses()
    {
    }

    public HostAddresses(IEnumerable<StunAddress> addresses) => UpdateInterfaces(addresses);

    /// <summary>The addresses of the interfaces as last read.</summary>
    public IReadOnlyList<StunAddress> Interfaces => Volatile.Read(ref _interfaces);

    /// <summary>Replaces the interface addresses; true when they differ from what was held.</summary>
    public bool UpdateInterfaces(IEnumerable<StunAddress> addresses)
    {
        StunAddress[] next = Normalise(addresses);
        StunAddress[] current = Volatile.Read(ref _interfaces);
        if (SameSet(current, next))
        {
            return false;
        }

        Volatile.Write(ref _interfaces, next);
        return true;
    }

    /// <summary>Whether the IP of <paramref name="address"/> (its port ignored) is one of this host's, as written.</summary>
    public bool Contains(StunAddress address) => In(Volatile.Read(ref _interfaces), address);

    public static bool In(StunAddress[] addresses, StunAddress address)
    {
        foreach (StunAddress own in addresses)
        {
            if (own.Address == address.Address && own.Family == address.Family)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Each address with port 0, and for an address that embeds an IPv4 one (a 6to4 or
    /// IPv4-mapped address of this host's), that IPv4 as well: both are this host.
    /// </summary>
    public static StunAddress[] Normalise(IEnumerable<StunAddress> addresses)
    {
        var list = new List<StunAddress>();
        foreach (StunAddress address in addresses)
        {
            if (address.Family is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) || address.Address == UInt128.Zero)
            {
                continue;
            }

            StunAddress raw = address.WithPort(0);
            StunAddress canonical = AddressCanonicalizer.Canonicalize(raw).WithPort(0);
            if (!list.Contains(raw))
            {
                list.Add(raw);
            }

            if (canonical.Address != UInt128.Zero && !list.Contains(canonical))
            {
                list.Add(canonical);
            }
        }

        return [.. list];
    }

    private static bool SameSet(StunAddress[] a, StunAddress[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        foreach (StunAddress address in b)
        {
            if (Array.IndexOf(a, address) < 0)
            {
                return false;
            }
        }

        return true;
    }
}
