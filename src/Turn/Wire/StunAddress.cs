using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Turn.Wire;

/// <summary>
/// A transport address held by value, so that decoding one from a packet or a
/// <see cref="SocketAddress"/> allocates nothing. IPv4 addresses sit in the low 32 bits.
/// </summary>
internal readonly struct StunAddress : IEquatable<StunAddress>
{
    private readonly UInt128 _address;

    public StunAddress(AddressFamily family, UInt128 address, ushort port)
    {
        Family = family;
        _address = family == AddressFamily.InterNetwork ? address & uint.MaxValue : address;
        Port = port;
    }

    public AddressFamily Family { get; }

    public ushort Port { get; }

    public bool IsIPv4 => Family == AddressFamily.InterNetwork;

    /// <summary>The address in network order packed into an integer (IPv4 in the low 32 bits).</summary>
    public UInt128 Address => _address;

    /// <summary>4 for IPv4, 16 for IPv6.</summary>
    public int AddressLength => IsIPv4 ? 4 : 16;

    public static StunAddress FromBytes(ReadOnlySpan<byte> address, ushort port)
        => address.Length == 4
            ? new StunAddress(AddressFamily.InterNetwork, BinaryPrimitives.ReadUInt32BigEndian(address), port)
            : new StunAddress(AddressFamily.InterNetworkV6, BinaryPrimitives.ReadUInt128BigEndian(address), port);

    public static StunAddress FromIPEndPoint(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(bytes, out int written);
        return FromBytes(bytes[..written], (ushort)endPoint.Port);
    }

    /// <summary>Reads a Linux sockaddr_in / sockaddr_in6 as .NET lays it out in <see cref="SocketAddress"/>.</summary>
    public static StunAddress FromSocketAddress(SocketAddress socketAddress)
    {
        ReadOnlySpan<byte> raw = socketAddress.Buffer.Span;
        ushort port = BinaryPrimitives.ReadUInt16BigEndian(raw[2..]);
        return socketAddress.Family == AddressFamily.InterNetwork
            ? FromBytes(raw.Slice(4, 4), port)
            : FromBytes(raw.Slice(8, 16), port);
    }

    /// <summary>Fills a <see cref="SocketAddress"/> of the same family in place (no allocation).</summary>
    public void WriteTo(SocketAddress socketAddress)
    {
        Span<byte> raw = socketAddress.Buffer.Span;
        BinaryPrimitives.WriteUInt16BigEndian(raw[2..], Port);
        if (IsIPv4)
        {
            WriteAddressBytes(raw.Slice(4, 4));
        }
        else
        {
            raw.Slice(4, 4).Clear();
            WriteAddressBytes(raw.Slice(8, 16));
            raw.Slice(24, 4).Clear();
        }
    }

    public void WriteAddressBytes(Span<byte> destination)
    {
        if (IsIPv4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)_address);
        }
        else
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination, _address);
        }
    }

    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        WriteAddressBytes(bytes);
        return new IPAddress(bytes[..AddressLength]);
    }

    public IPEndPoint ToIPEndPoint() => new(ToIPAddress(), Port);

    public StunAddress WithPort(ushort port) => new(Family, _address, port);

    public bool Equals(StunAddress other) => Family == other.Family && Port == other.Port && _address == other._address;

    public override bool Equals(object? obj) => obj is StunAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Family, Port, _address);

    public override string ToString() => ToIPEndPoint().ToString();

    public static bool operator ==(StunAddress left, StunAddress right) => left.Equals(right);

    public static bool operator !=(StunAddress left, StunAddress right) => !left.Equals(right);
}
