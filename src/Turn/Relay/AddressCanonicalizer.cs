using System.Net.Sockets;
using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// Reduces IPv6 addresses that carry an IPv4 address to that IPv4 address, so that the peer filter
/// judges where a datagram would really go. A filter that matched only the literal form let
/// 0.0.0.0 and [::] reach loopback in coturn (CVE-2020-26262), and every embedding below is another
/// way to spell a private IPv4 address in an XOR-PEER-ADDRESS.
/// Reduced forms (IPv6 bit 0 is the most significant):
/// <list type="bullet">
/// <item>IPv4-mapped ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): what a dual-stack socket sends to as IPv4.</item>
/// <item>IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1, deprecated), except :: and ::1, which stay themselves.</item>
/// <item>IPv4-translated ::ffff:0:a.b.c.d (SIIT, RFC 2765 §2.1, obsoleted by RFC 6145 but still routable on old stacks).</item>
/// <item>6to4 2002:AABB:CCDD::/48 (RFC 3056 §2): the IPv4 is bits 16-47.</item>
/// <item>NAT64 well-known prefix 64:ff9b::/96 (RFC 6052 §2.1): the IPv4 is the last 32 bits.
/// Cloud IPv6-only subnets (e.g. behind DNS64) translate these, so 64:ff9b::a9fe:a9fe is the metadata service.</item>
/// <item>NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215 §3): taken as a /96 carved from the /48, the
/// IPv4 in the last 32 bits. A /48 network-specific layout (RFC 6052 §2.2) puts it elsewhere, which
/// is why the whole /48 is also on the default deny list.</item>
/// <item>Teredo 2001:0::/32 (RFC 4380 §4): the client's IPv4 is the last 32 bits inverted and its UDP
/// port bits 80-95 inverted; that is where a Teredo relay delivers, so the port is taken from there
/// too. The Teredo server's IPv4 (bits 32-63) is exposed by <see cref="TryGetTeredoServer"/>.</item>
/// </list>
/// Not reduced, because the IPv4 is only reached inside a site the server does not belong to or its
/// prefix is the operator's own choice: ISATAP interface identifiers (RFC 5214 §6.1), 6rd (RFC 5969),
/// NAT64 network-specific prefixes other than 64:ff9b:1::/48 (RFC 6052 §2.2). An operator who runs
/// such a tunnel on the relay host lists its prefix in the denied peers.
/// </summary>
internal static class AddressCanonicalizer
{
    private static readonly UInt128 MappedPrefix = new(0, 0x0000_FFFF_0000_0000);
    private static readonly UInt128 TranslatedPrefix = new(0, 0xFFFF_0000_0000_0000);
    private static readonly UInt128 Nat64WellKnownPrefix = new(0x0064_FF9B_0000_0000, 0);
    private static readonly UInt128 Nat64LocalUsePrefix = new(0x0064_FF9B_0001_0000, 0);
    private const ulong SixToFourPrefix = 0x2002;
    private const ulong TeredoPrefix = 0x2001_0000;

    private static readonly UInt128 Mask96 = new(ulong.MaxValue, 0xFFFF_FFFF_0000_0000);
    private static readonly UInt128 Mask48 = new(0xFFFF_FFFF_FFFF_0000, 0);

    /// <summary>The IPv4 address (with the port) an IPv6 address embeds, or the address unchanged.</summary>
    public static StunAddress Canonicalize(StunAddress address)
    {
        if (address.IsIPv4 || address.Family != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        UInt128 a = address.Address;
        ulong high = (ulong)(a >> 64);
        uint low32 = (uint)a;
        UInt128 top96 = a & Mask96;

        // RFC 4291 §2.5.5.2
        if (top96 == MappedPrefix)
        {
            return IPv4(low32, address.Port);
        }

        // RFC 4291 §2.5.5.1; :: is the unspecified address and ::1 loopback (RFC 4291 §2.5.2, §2.5.3).
        if (top96 == UInt128.Zero)
        {
            return low32 <= 1 ? address : IPv4(low32, address.Port);
        }

        // RFC 2765 §2.1
        if (top96 == TranslatedPrefix)
        {
            return IPv4(low32, address.Port);
        }

        // RFC 6052 §2.1
        if (top96 == Nat64WellKnownPrefix)
        {
            return IPv4(low32, address.Port);
        }

        // RFC 8215 §3
        if ((a & Mask48) == Nat64LocalUsePrefix)
        {
            return IPv4(low32, address.Port);
        }

        // RFC 3056 §2
        if (high >> 48 == SixToFourPrefix)
        {
            return IPv4((uint)(high >> 16), address.Port);
        }

        // RFC 4380 §4
        if (high >> 32 == TeredoPrefix)
        {
            ushort port = (ushort)~(ushort)(a >> 32);
            return IPv4(~low32, port);
        }

        return address;
    }

    /// <summary>
    /// For an address in the NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215), the IPv4 address a
    /// translator would take from it under each RFC 6052 §2.2 layout a network-specific prefix inside
    /// that /48 can have (/48, /56, /64, /96; bits 64-71 are the reserved u octet), so that every one
    /// of them can be judged. Writes them to <paramref name="ipv4"/> (room for four) and returns how many.
    /// </summary>
    public static int Nat64LocalUseCandidates(StunAddress address, Span<StunAddress> ipv4)
    {
        if (address.Family != AddressFamily.InterNetworkV6 || (address.Address & Mask48) != Nat64LocalUsePrefix)
        {
            return 0;
        }

        ulong high = (ulong)(address.Address >> 64);
        ulong low = (ulong)address.Address;
        ipv4[0] = IPv4((uint)(((high & 0xFFFF) << 16) | ((low >> 40) & 0xFFFF)), address.Port);
        ipv4[1] = IPv4((uint)(((high & 0xFF) << 24) | ((low >> 32) & 0xFF_FFFF)), address.Port);
        ipv4[2] = IPv4((uint)(low >> 24), address.Port);
        ipv4[3] = IPv4((uint)low, address.Port);
        return 4;
    }

    /// <summary>An IPv4-mapped IPv6 address, ::ffff:a.b.c.d (RFC 4291 §2.5.5.2): the IPv4 node itself, not a tunnel to it.</summary>
    public static bool IsIPv4Mapped(StunAddress address)
        => address.Family == AddressFamily.InterNetworkV6 && (address.Address & Mask96) == MappedPrefix;

    /// <summary>For a Teredo address (RFC 4380 §4), the Teredo server's IPv4 (bits 32-63), port 0.</summary>
    public static bool TryGetTeredoServer(StunAddress address, out StunAddress server)
    {
        if (address.Family == AddressFamily.InterNetworkV6 && (ulong)(address.Address >> 96) == TeredoPrefix)
        {
            server = IPv4((uint)(address.Address >> 64), 0);
            return true;
        }

        server = default;
        return false;
    }

    private static StunAddress IPv4(uint address, ushort port) => new(AddressFamily.InterNetwork, address, port);
}
