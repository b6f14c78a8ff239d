namespace Turn.Wire;

/// <summary>Tells STUN from ChannelData by the two leading bits: 0b00 STUN, 0b01 ChannelData (RFC 8656 §12).</summary>
internal static class PacketClassifier
{
    public static PacketKind Classify(ReadOnlySpan<byte> packet)
    {
        if (packet.IsEmpty)
        {
            return PacketKind.Unknown;
        }

        return (packet[0] >> 6) switch
        {
            0 => PacketKind.Stun,
            1 => PacketKind.ChannelData,
            _ => PacketKind.Unknown,
        };
    }
}
