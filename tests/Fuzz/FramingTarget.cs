using Turn.Wire;

namespace Turn.Fuzz;

/// <summary>
/// A TCP or TLS byte stream cut into frames by <see cref="StreamFraming"/>, twice: whole, and as a
/// connection receives it, in pieces, into a buffer that starts at 4096 bytes, grows when a frame
/// needs more and is compacted after each read, as <c>StreamConnection</c> keeps it. Both must cut
/// the same frames and end the same way; each STUN frame is one message to the parser and each
/// ChannelData frame a padded ChannelData message (RFC 8489 §6.2.2, RFC 8656 §12.5).
/// </summary>
internal static class FramingTarget
{
    private const int InitialBufferLength = 4096;

    private static readonly List<(PacketKind Kind, int Length)> Whole = [];
    private static readonly List<(PacketKind Kind, int Length)> Pieces = [];

    public static void Run(ReadOnlySpan<byte> stream)
    {
        Whole.Clear();
        Pieces.Clear();
        FrameStatus whole = Cut(stream, Whole, out _);
        FrameStatus pieces = Receive(stream, 1 + (stream.Length % 61), Pieces);
        Invariant.Holds(whole == pieces, "a stream ends the same way whole and in pieces");
        Invariant.Holds(Whole.Count == Pieces.Count, "a stream has as many frames whole as in pieces");
        for (int i = 0; i < Whole.Count; i++)
        {
            Invariant.Holds(Whole[i] == Pieces[i], "a stream has the same frames whole and in pieces");
        }
    }

    /// <summary>Takes frame after frame from the start of <paramref name="buffered"/>; returns why it stopped and how much it took.</summary>
    private static FrameStatus Cut(ReadOnlySpan<byte> buffered, List<(PacketKind Kind, int Length)> frames, out int consumed)
    {
        consumed = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = buffered[consumed..];
            FrameStatus status = StreamFraming.TryGetFrame(rest, out int frameLength, out PacketKind kind);
            Invariant.Holds(frameLength >= 0 && frameLength <= StreamFraming.MaxFrameLength, "a frame is never longer than the longest STUN message");
            switch (status)
            {
                case FrameStatus.Invalid:
                    Invariant.Holds(!rest.IsEmpty, "nothing is not invalid");
                    return status;
                case FrameStatus.NeedMore:
                    Invariant.Holds(frameLength == 0 || frameLength > rest.Length, "more is needed only when the frame is not all there");
                    return status;
                case FrameStatus.Complete:
                    Invariant.Holds(frameLength >= ChannelData.HeaderLength && frameLength <= rest.Length, "a complete frame lies inside the buffer");
                    Check(rest[..frameLength], kind);
                    frames.Add((kind, frameLength));
                    consumed += frameLength;
                    break;
                default:
                    Invariant.Holds(false, "framing answers a known status");
                    break;
            }
        }
    }

    private static void Check(ReadOnlySpan<byte> frame, PacketKind kind)
    {
        if (kind == PacketKind.Stun)
        {
            StunParseStatus status = StunMessage.TryParse(frame, out _);
            Invariant.Holds(
                status is not (StunParseStatus.Truncated or StunParseStatus.BadLength or StunParseStatus.NotStun),
                "a STUN frame is exactly one message by its length");
            return;
        }

        Invariant.Holds(kind == PacketKind.ChannelData, "a frame is STUN or ChannelData");
        Invariant.Holds(ChannelData.TryParse(frame, out _, out ReadOnlySpan<byte> data), "a ChannelData frame parses");
        Invariant.Holds(Padding.Pad4(data.Length) == frame.Length - ChannelData.HeaderLength, "a ChannelData frame is padded to four bytes");
    }

    /// <summary>The connection's read loop, with the stream arriving <paramref name="pieceLength"/> bytes at a time.</summary>
    private static FrameStatus Receive(ReadOnlySpan<byte> stream, int pieceLength, List<(PacketKind Kind, int Length)> frames)
    {
        byte[] buffer = new byte[InitialBufferLength];
        int filled = 0;
        int arrived = 0;
        FrameStatus status = FrameStatus.NeedMore;
        while (true)
        {
            Invariant.Holds(filled < buffer.Length, "the connection never reads into a full buffer");
            int read = Math.Min(Math.Min(pieceLength, buffer.Length - filled), stream.Length - arrived);
            if (read == 0)
            {
                // The peer is done; what is left is the start of a frame that never came whole.
                return status;
            }

            stream.Slice(arrived, read).CopyTo(buffer.AsSpan(filled));
            arrived += read;
            filled += read;
            status = Cut(buffer.AsSpan(0, filled), frames, out int consumed);
            if (status == FrameStatus.Invalid)
            {
                return status;
            }

            StreamFraming.TryGetFrame(buffer.AsSpan(consumed, filled - consumed), out int frameLength, out _);
            if (frameLength > buffer.Length)
            {
                byte[] larger = new byte[Math.Min(frameLength, StreamFraming.MaxFrameLength)];
                buffer.AsSpan(consumed, filled - consumed).CopyTo(larger);
                buffer = larger;
                filled -= consumed;
                consumed = 0;
            }

            if (consumed > 0)
            {
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;
            }
        }
    }
}
