using System.Net;
using System.Net.Sockets;
using Turn.Wire;

namespace Turn.Tests.Attack;

/// <summary>
/// Every way an attacker can write an IPv4 peer inside an IPv6 XOR-PEER-ADDRESS: the forms a
/// transition mechanism would deliver to that IPv4 address, with the port where the form carries
/// one of its own (Teredo). The IPv4-mapped form is listed apart: it is the IPv4 node itself.
/// </summary>
internal static class PeerEncodings
{
    /// <summary>The IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).</summary>
    public static StunAddress Mapped(IPEndPoint v4) => V6(0, 0x0000_FFFF_0000_0000UL | V4(v4), v4.Port);

    /// <summary>Every embedding form other than the mapped one, each named for the assertion messages.</summary>
    public static IEnumerable<(string Name, StunAddress Address)> Embedded(IPEndPoint v4)
    {
        ulong ip = V4(v4);
        int port = v4.Port;
        yield return ("IPv4-compatible ::a.b.c.d", V6(0, ip, port));
        yield return ("SIIT ::ffff:0:a.b.c.d", V6(0, 0xFFFF_0000_0000_0000UL | ip, port));
        yield return ("6to4 2002:AABB:CCDD::", V6(0x2002_0000_0000_0000UL | (ip << 16), 0, port));
        yield return ("6to4 2002:AABB:CCDD:dead:beef::1", V6(0x2002_0000_0000_DEADUL | (ip << 16), 0xBEEF_0000_0000_0001UL, port));
        yield return ("6to4 2002:AABB:CCDD::AABB:CCDD", V6(0x2002_0000_0000_0000UL | (ip << 16), ip, port));
        yield return ("NAT64 64:ff9b::a.b.c.d", V6(0x0064_FF9B_0000_0000UL, ip, port));
        yield return ("NAT64 local-use /96 64:ff9b:1::a.b.c.d", V6(0x0064_FF9B_0001_0000UL, ip, port));
        yield return ("NAT64 local-use with 169.254 at the /48 layout and a.b.c.d last", V6(0x0064_FF9B_0001_A9FEUL, 0x00A9_FE00_0000_0000UL | ip, port));

        // RFC 6052 §2.2 layouts of a.b.c.d under the local-use /48: bits 48-63, the u octet, then the rest.
        yield return ("NAT64 local-use /48 layout", V6(0x0064_FF9B_0001_0000UL | (ip >> 16), ((ip & 0xFFFF) << 40), port));
        yield return ("NAT64 local-use /64 layout", V6(0x0064_FF9B_0001_0000UL, (ip << 24), port));

        // RFC 4380 §4: Teredo server 65.54.227.120, client port and address inverted.
        ulong teredoHigh = 0x2001_0000_0000_0000UL | 0x4136_E378UL;
        ulong teredoLow = ((ulong)(ushort)~port << 32) | (~ip & 0xFFFF_FFFF);
        yield return ("Teredo 2001:0:4136:e378:0:~port:~a.b.c.d", V6(teredoHigh, teredoLow, 1));

        // Teredo whose server is the address: a Teredo relay may contact its server (RFC 4380 §5.4).
        yield return ("Teredo with the address as its server", V6(0x2001_0000_0000_0000UL | ip, 0x0000_F0F0_F7F7_F7F7UL, port));
    }

    public static StunAddress Of(IPEndPoint endPoint) => StunAddress.FromIPEndPoint(endPoint);

    private static ulong V4(IPEndPoint endPoint)
    {
        if (endPoint.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException("an IPv4 endpoint", nameof(endPoint));
        }

        byte[] bytes = endPoint.Address.GetAddressBytes();
        return ((ulong)bytes[0] << 24) | ((ulong)bytes[1] << 16) | ((ulong)bytes[2] << 8) | bytes[3];
    }

    private static StunAddress V6(ulong high, ulong low, int port)
        => new(AddressFamily.InterNetworkV6, new UInt128(high, low), (ushort)port);
}
