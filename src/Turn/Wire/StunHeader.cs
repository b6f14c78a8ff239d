using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>
/// The fixed 20-byte STUN header (RFC 8489 §5):
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Transaction ID (96 bits)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
internal static class StunHeader
{
    public const int Length = 20;
    public const int TransactionIdLength = 12;
    public const uint MagicCookie = 0x2112A442;

    /// <summary>The largest message the 16-bit length field can describe.</summary>
    public const int MaxMessageLength = Length + 0xFFFC;

    public static ushort ReadType(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16BigEndian(header);

    public static int ReadLength(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt16BigEndian(header[2..]);

    public static void WriteLength(Span<byte> header, int length)
        => BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)length);

    public static bool HasMagicCookie(ReadOnlySpan<byte> header)
        => header.Length >= 8 && BinaryPrimitives.ReadUInt32BigEndian(header[4..]) == MagicCookie;
}
