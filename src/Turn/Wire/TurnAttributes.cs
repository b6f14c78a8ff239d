using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>Readers for the fixed-layout TURN attributes (RFC 8656 §18, RFC 6062 §6.2). Each returns false on a wrong size.</summary>
internal static class TurnAttributes
{
    /// <summary>RFC 8656 §18.8: protocol number of the relay, UDP = 17, TCP = 6.</summary>
    public const byte ProtocolUdp = 17;
    public const byte ProtocolTcp = 6;

    /// <summary>
    /// The channel numbers a client may bind. RFC 8656 §12 narrowed them to 0x4000-0x4FFF, but
    /// RFC 5766 §11 allowed up to 0x7FFF and coturn's clients still pick from there; every number
    /// whose top bits are 01 is ChannelData on the wire, so the wider range is accepted.
    /// </summary>
    public const ushort MinChannel = 0x4000;
    public const ushort MaxChannel = 0x7FFF;

    /// <summary>RFC 8656 §18.1: channel number then RFFU.</summary>
    public static bool TryReadChannelNumber(ReadOnlySpan<byte> value, out ushort channel)
    {
        channel = value.Length == 4 ? BinaryPrimitives.ReadUInt16BigEndian(value) : (ushort)0;
        return value.Length == 4;
    }

    /// <summary>RFC 8656 §18.2: seconds.</summary>
    public static bool TryReadLifetime(ReadOnlySpan<byte> value, out uint seconds) => TryReadUInt32(value, out seconds);

    /// <summary>RFC 8656 §18.8: protocol then RFFU.</summary>
    public static bool TryReadRequestedTransport(ReadOnlySpan<byte> value, out byte protocol) => TryReadByteReserved(value, out protocol);

    /// <summary>RFC 8656 §18.6 and §18.11: family (0x01 IPv4, 0x02 IPv6) then RFFU.</summary>
    public static bool TryReadAddressFamily(ReadOnlySpan<byte> value, out byte family)
        => TryReadByteReserved(value, out family) && family is AddressAttribute.FamilyIPv4 or AddressAttribute.FamilyIPv6;

    /// <summary>RFC 8656 §18.7: one byte whose top bit asks to reserve the next port.</summary>
    public static bool TryReadEvenPort(ReadOnlySpan<byte> value, out bool reserveNext)
    {
        reserveNext = value.Length == 1 && (value[0] & 0x80) != 0;
        return value.Length == 1;
    }

    /// <summary>RFC 8656 §18.10: an 8-byte token.</summary>
    public static bool TryReadReservationToken(ReadOnlySpan<byte> value, out ulong token)
    {
        token = value.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(value) : 0;
        return value.Length == 8;
    }

    /// <summary>RFC 8656 §18.9: no value.</summary>
    public static bool IsValidDontFragment(ReadOnlySpan<byte> value) => value.IsEmpty;

    /// <summary>RFC 8656 §18.13: reserved (2 bytes), ICMP type, ICMP code, error data (4 bytes).</summary>
    public static bool TryReadIcmp(ReadOnlySpan<byte> value, out byte type, out byte code, out uint errorData)
    {
        bool ok = value.Length == 8;
        type = ok ? value[2] : (byte)0;
        code = ok ? value[3] : (byte)0;
        errorData = ok ? BinaryPrimitives.ReadUInt32BigEndian(value[4..]) : 0;
        return ok;
    }

    public static void WriteIcmp(Span<byte> destination, byte type, byte code, uint errorData)
    {
        destination[0] = 0;
        destination[1] = 0;
        destination[2] = type;
        destination[3] = code;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], errorData);
    }

    /// <summary>RFC 6062 §6.2.1: a 32-bit connection identifier.</summary>
    public static bool TryReadConnectionId(ReadOnlySpan<byte> value, out uint id) => TryReadUInt32(value, out id);

    private static bool TryReadUInt32(ReadOnlySpan<byte> value, out uint result)
    {
        result = value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : 0;
        return value.Length == 4;
    }

    private static bool TryReadByteReserved(ReadOnlySpan<byte> value, out byte result)
    {
        result = value.Length == 4 ? value[0] : (byte)0;
        return value.Length == 4;
    }
}
