using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// An address block in CIDR notation ("10.0.0.0/8", "fe80::/10", or a bare address for /32 or /128),
/// held the way <see cref="StunAddress"/> holds addresses so that <see cref="Contains"/> is two integer
/// operations. Parsing is strict because these blocks guard the relay: an IPv4 address must be four
/// decimal octets (no "127.1", no octal "010.0.0.1", no hex), an IPv6 address may not carry a zone
/// ("%eth0"), and host bits must be clear: "10.0.0.1/8" is refused rather than widened to 10.0.0.0/8,
/// since it is more often a typo for "/32" than a wish for the whole block.
/// </summary>
internal readonly struct IpPrefix : IEquatable<IpPrefix>
{
    private readonly UInt128 _mask;

    private IpPrefix(AddressFamily family, UInt128 network, int length)
    {
        Family = family;
        Length = length;
        _mask = MaskFor(family, length);
        Network = network & _mask;
    }

    public AddressFamily Family { get; }

    /// <summary>The network in network order packed into an integer (IPv4 in the low 32 bits), host bits clear.</summary>
    public UInt128 Network { get; }

    /// <summary>The prefix length: 0-32 for IPv4, 0-128 for IPv6.</summary>
    public int Length { get; }

    public bool IsIPv4 => Family == AddressFamily.InterNetwork;

    /// <summary>The one-address block (/32 or /128) around an address; its port is ignored.</summary>
    public static IpPrefix Host(StunAddress address)
        => new(address.Family, address.Address, address.IsIPv4 ? 32 : 128);

    /// <summary>Parses a prefix, throwing <see cref="FormatException"/> when <see cref="TryParse"/> would refuse it.</summary>
    public static IpPrefix Parse(string text)
        => TryParse(text, out IpPrefix prefix)
            ? prefix
            : throw new FormatException($"'{text}' is not an IP prefix such as 10.0.0.0/8 or fe80::/10 (host bits must be zero).");

    public static bool TryParse(string? text, out IpPrefix prefix)
    {
        prefix = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        ReadOnlySpan<char> span = text.AsSpan();
        int slash = span.IndexOf('/');
        ReadOnlySpan<char> addressText = slash < 0 ? span : span[..slash];

        AddressFamily family;
        UInt128 address;
        if (TryParseIPv4(addressText, out uint v4))
        {
            family = AddressFamily.InterNetwork;
            address = v4;
        }
        else if (TryParseIPv6(addressText, out UInt128 v6))
        {
            family = AddressFamily.InterNetworkV6;
            address = v6;
        }
        else
        {
            return false;
        }

        int maxLength = family == AddressFamily.InterNetwork ? 32 : 128;
        int length = maxLength;
        if (slash >= 0 && !TryParseLength(span[(slash + 1)..], maxLength, out length))
        {
            return false;
        }

        if ((address & MaskFor(family, length)) != address)
        {
            return false;
        }

        prefix = new IpPrefix(family, address, length);
        return true;
    }

    /// <summary>True when the address is of this prefix's family and inside it; the port is ignored.</summary>
    public bool Contains(StunAddress address)
        => address.Family == Family && (address.Address & _mask) == Network;

    /// <summary>The network address as an <see cref="IPAddress"/>.</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        int count = IsIPv4 ? 4 : 16;
        if (IsIPv4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Network);
        }
        else
        {
            BinaryPrimitives.WriteUInt128BigEndian(bytes, Network);
        }

        return new IPAddress(bytes[..count]);
    }

    /// <summary>True when the two blocks share an address: one holds the other.</summary>
    public bool Overlaps(IpPrefix other)
        => Family == other.Family && (Network & other._mask & _mask) == (other.Network & _mask & other._mask);

    public bool Equals(IpPrefix other) => Family == other.Family && Length == other.Length && Network == other.Network;

    public override bool Equals(object? obj) => obj is IpPrefix other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Family, Network, Length);

    public override string ToString()
    {
        if (Family == AddressFamily.Unspecified)
        {
            return string.Empty;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{ToIPAddress()}/{Length}");
    }

    public static bool operator ==(IpPrefix left, IpPrefix right) => left.Equals(right);

    public static bool operator !=(IpPrefix left, IpPrefix right) => !left.Equals(right);

    private static UInt128 MaskFor(AddressFamily family, int length)
    {
        int bits = family == AddressFamily.InterNetwork ? 32 : 128;
        if (length <= 0)
        {
            return UInt128.Zero;
        }

        UInt128 all = family == AddressFamily.InterNetwork ? uint.MaxValue : UInt128.MaxValue;
        return (all << (bits - length)) & all;
    }

    // Four decimal octets only: .NET's IPAddress also takes inet_aton forms ("127.1", "0x7f.1",
    // "0177.0.0.1"), which would make "010.0.0.0/8" silently mean 8.0.0.0/8.
    private static bool TryParseIPv4(ReadOnlySpan<char> text, out uint address)
    {
        address = 0;
        int octets = 0;
        int i = 0;
        while (true)
        {
            int start = i;
            int value = 0;
            while (i < text.Length && char.IsAsciiDigit(text[i]) && i - start < 3)
            {
                value = (value * 10) + (text[i] - '0');
                i++;
            }

            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0'))
            {
                return false;
            }

            address = (address << 8) | (uint)value;
            octets++;
            if (octets == 4)
            {
                return i == text.Length;
            }

            if (i >= text.Length || text[i] != '.')
            {
                return false;
            }

            i++;
        }
    }

    private static bool TryParseIPv6(ReadOnlySpan<char> text, out UInt128 address)
    {
        address = UInt128.Zero;
        if (text.IndexOf(':') < 0 || text.IndexOfAny('%', '[', ']') >= 0)
        {
            return false;
        }

        if (!IPAddress.TryParse(text, out IPAddress? parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!parsed.TryWriteBytes(bytes, out int written) || written != 16)
        {
            return false;
        }

        address = BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return true;
    }

    private static bool TryParseLength(ReadOnlySpan<char> text, int maxLength, out int length)
    {
        length = 0;
        if (text.IsEmpty || text.Length > 3 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            length = (length * 10) + (c - '0');
        }

        return length <= maxLength;
    }
}
