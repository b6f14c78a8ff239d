using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// Wraps a datagram from a peer for the client without copying it: the datagram is received
/// <see cref="Headroom"/> bytes into the buffer, and the ChannelData header (RFC 8656 §12.4) or
/// the Data indication's header and attributes (§11.3) are written in front of it.
/// </summary>
internal static class PeerData
{
    /// <summary>Room for a Data indication's header, XOR-PEER-ADDRESS (IPv6) and DATA attribute header.</summary>
    public const int Headroom = StunHeader.Length + 4 + 20 + 4;

    /// <summary>Room after the payload for padding.</summary>
    public const int Tailroom = 4;

    /// <summary>
    /// Whether a peer datagram of <paramref name="length"/> bytes fits the frame the client gets:
    /// ChannelData's length and a Data indication's message length are 16 bits (RFC 8656 §12.4,
    /// RFC 8489 §5), and over UDP the whole frame must fit one datagram to the client's address.
    /// </summary>
    public static bool Fits(int length, StunAddress peer, ushort channel, TransportProtocol clientTransport, bool clientIsIPv4)
    {
        int frame = channel != 0
            ? ChannelData.HeaderLength + length
            : StunHeader.Length + 4 + AddressAttribute.ValueLength(peer) + 4 + Padding.Pad4(length);
        int limit = channel != 0 ? ChannelData.HeaderLength + ushort.MaxValue : StunHeader.Length + ushort.MaxValue;
        if (clientTransport == TransportProtocol.Udp)
        {
            // The largest UDP payload: 65,535 less the IP and UDP headers (20 + 8 for IPv4, 8 for IPv6).
            limit = Math.Min(limit, clientIsIPv4 ? ushort.MaxValue - 28 : ushort.MaxValue - 8);
        }

        return frame <= limit;
    }

    /// <summary>Frames the payload at buffer[Headroom..Headroom+length]; returns the packet's offset and length.</summary>
    public static (int Offset, int Length) Frame(Span<byte> buffer, int length, StunAddress peer, ushort channel, bool padForStream, ReadOnlySpan<byte> transactionId)
    {
        if (channel != 0)
        {
            int offset = Headroom - ChannelData.HeaderLength;
            ChannelData.WriteHeader(buffer[offset..], channel, length);
            int total = ChannelData.HeaderLength + length;
            if (padForStream)
            {
                int padded = Padding.Pad4(total);
                buffer.Slice(offset + total, padded - total).Clear();
                total = padded;
            }

            return (offset, total);
        }

        int prefix = StunHeader.Length + 4 + AddressAttribute.ValueLength(peer) + 4;
        int start = Headroom - prefix;
        var writer = StunWriter.Create(buffer[start..], StunMethod.Data, StunClass.Indication, transactionId);
        writer.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
        writer.Reserve(StunAttributeType.Data, length);
        return (start, writer.Length);
    }
}
