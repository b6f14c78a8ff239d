using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>RFC 5780 §7: CHANGE-REQUEST and RESPONSE-PORT. PADDING (§7.6) carries opaque bytes and needs no reader.</summary>
internal static class NatBehaviorAttributes
{
    public const uint ChangeIpFlag = 0x04;
    public const uint ChangePortFlag = 0x02;

    /// <summary>RFC 5780 §7.2: 32 bits, "change IP" is 0x4 and "change port" 0x2.</summary>
    public static bool TryReadChangeRequest(ReadOnlySpan<byte> value, out bool changeIp, out bool changePort)
    {
        uint flags = value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : 0;
        changeIp = (flags & ChangeIpFlag) != 0;
        changePort = (flags & ChangePortFlag) != 0;
        return value.Length == 4;
    }

    /// <summary>RFC 5780 §7.5: a port followed by two bytes of padding.</summary>
    public static bool TryReadResponsePort(ReadOnlySpan<byte> value, out ushort port)
    {
        port = value.Length == 4 ? BinaryPrimitives.ReadUInt16BigEndian(value) : (ushort)0;
        return value.Length == 4;
    }
}
