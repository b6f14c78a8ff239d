namespace Turn.Wire;

/// <summary>
/// Cuts a TCP or TLS byte stream into STUN messages and ChannelData frames (RFC 8489 §6.2.2,
/// RFC 8656 §12.5). STUN carries its length in the header; ChannelData is padded to four bytes.
/// </summary>
internal static class StreamFraming
{
    /// <summary>Longest frame a stream may carry: a STUN message of the largest length field.</summary>
    public const int MaxFrameLength = StunHeader.MaxMessageLength;

    public static FrameStatus TryGetFrame(ReadOnlySpan<byte> buffered, out int frameLength, out PacketKind kind)
    {
        frameLength = 0;
        kind = PacketClassifier.Classify(buffered);
        if (kind == PacketKind.Unknown)
        {
            return buffered.IsEmpty ? FrameStatus.NeedMore : FrameStatus.Invalid;
        }

        if (buffered.Length < 4)
        {
            return FrameStatus.NeedMore;
        }

        int length = (buffered[2] << 8) | buffered[3];
        if (kind == PacketKind.Stun)
        {
            // RFC 8489 §6.2.2: over a stream only RFC 8489 messages, which carry the cookie, are framed.
            if ((length & 3) != 0 || (buffered.Length >= 8 && !StunHeader.HasMagicCookie(buffered)))
            {
                return FrameStatus.Invalid;
            }

            frameLength = StunHeader.Length + length;
        }
        else
        {
            int channel = (buffered[0] << 8) | buffered[1];
            if (channel > TurnAttributes.MaxChannel)
            {
                return FrameStatus.Invalid;
            }

            frameLength = ChannelData.HeaderLength + Padding.Pad4(length);
        }

        return buffered.Length >= frameLength ? FrameStatus.Complete : FrameStatus.NeedMore;
    }
}
