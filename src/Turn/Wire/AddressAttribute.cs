using System.Buffers.Binary;
using System.Net.Sockets;

namespace Turn.Wire;

/// <summary>
/// The address format shared by MAPPED-ADDRESS (RFC 8489 §14.1), ALTERNATE-SERVER,
/// RESPONSE-ORIGIN and OTHER-ADDRESS (RFC 5780 §7.3, §7.4), and its XOR form used by
/// XOR-MAPPED-ADDRESS (§14.2), XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS (RFC 8656 §18.3, §18.5):
/// <code>
/// |0 0 0 0 0 0 0 0|    Family     |           Port                |
/// |                 Address (32 bits or 128 bits)                 |
/// </code>
/// </summary>
internal static class AddressAttribute
{
    public const byte FamilyIPv4 = 0x01;
    public const byte FamilyIPv6 = 0x02;

    public static int ValueLength(StunAddress address) => 4 + address.AddressLength;

    public static bool TryRead(ReadOnlySpan<byte> value, out StunAddress address)
    {
        address = default;
        if (!TryReadHeader(value, out int addressLength))
        {
            return false;
        }

        address = StunAddress.FromBytes(value.Slice(4, addressLength), BinaryPrimitives.ReadUInt16BigEndian(value[2..]));
        return true;
    }

    /// <summary>Decodes the XOR form; <paramref name="cookieAndTransactionId"/> is bytes 4..20 of the message header.</summary>
    public static bool TryReadXor(ReadOnlySpan<byte> value, ReadOnlySpan<byte> cookieAndTransactionId, out StunAddress address)
    {
        address = default;
        if (!TryReadHeader(value, out int addressLength))
        {
            return false;
        }

        ushort port = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(value[2..]) ^ (StunHeader.MagicCookie >> 16));
        Span<byte> bytes = stackalloc byte[16];
        for (int i = 0; i < addressLength; i++)
        {
            bytes[i] = (byte)(value[4 + i] ^ cookieAndTransactionId[i]);
        }

        address = StunAddress.FromBytes(bytes[..addressLength], port);
        return true;
    }

    public static void Write(Span<byte> destination, StunAddress address)
    {
        destination[0] = 0;
        destination[1] = address.IsIPv4 ? FamilyIPv4 : FamilyIPv6;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], address.Port);
        address.WriteAddressBytes(destination[4..]);
    }

    public static void WriteXor(Span<byte> destination, StunAddress address, ReadOnlySpan<byte> cookieAndTransactionId)
    {
        Write(destination, address);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)(address.Port ^ (StunHeader.MagicCookie >> 16)));
        int length = address.AddressLength;
        for (int i = 0; i < length; i++)
        {
            destination[4 + i] ^= cookieAndTransactionId[i];
        }
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> value, out int addressLength)
    {
        addressLength = 0;
        if (value.Length < 8)
        {
            return false;
        }

        addressLength = value[1] switch
        {
            FamilyIPv4 => 4,
            FamilyIPv6 => 16,
            _ => 0,
        };
        return addressLength != 0 && value.Length == 4 + addressLength;
    }

    public static AddressFamily? FamilyFromCode(byte code) => code switch
    {
        FamilyIPv4 => AddressFamily.InterNetwork,
        FamilyIPv6 => AddressFamily.InterNetworkV6,
        _ => null,
    };
}
