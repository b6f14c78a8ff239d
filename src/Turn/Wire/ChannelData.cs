using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>
/// The ChannelData message (RFC 8656 §12.4):
/// <code>
/// |         Channel Number        |            Length             |
/// |                       Application Data                        |
/// |                               +-------------------------------+
/// |                               |
/// </code>
/// Over UDP the padding is optional; over TCP and TLS the frame is padded to four bytes (§12.5).
/// </summary>
internal static class ChannelData
{
    public const int HeaderLength = 4;

    /// <summary>Splits a ChannelData message; false when the channel is outside 0x4000-0x7FFF or the data is short.</summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out ushort channel, out ReadOnlySpan<byte> data)
    {
        channel = 0;
        data = default;
        if (packet.Length < HeaderLength)
        {
            return false;
        }

        channel = BinaryPrimitives.ReadUInt16BigEndian(packet);
        int length = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (channel < TurnAttributes.MinChannel || channel > TurnAttributes.MaxChannel || HeaderLength + length > packet.Length)
        {
            return false;
        }

        data = packet.Slice(HeaderLength, length);
        return true;
    }

    /// <summary>Writes the 4-byte header in front of data already placed at destination[4..].</summary>
    public static void WriteHeader(Span<byte> destination, ushort channel, int dataLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, channel);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)dataLength);
    }
}
