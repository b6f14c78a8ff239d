namespace Turn.Wire;

/// <summary>STUN pads attribute values, and TCP ChannelData frames, to four bytes (RFC 8489 §14, RFC 8656 §12.5).</summary>
internal static class Padding
{
    public static int Pad4(int length) => (length + 3) & ~3;
}
