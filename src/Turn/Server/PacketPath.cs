using System.Diagnostics;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// The relay's rules for a packet in either direction, in one place: from a client, ChannelData
/// is told from STUN and handed to the handler; from a peer, the permission, the bandwidth cap, the
/// size the client's transport can carry and the choice of ChannelData or Data indication decide
/// what the client gets. Everything is counted here. Transports only move the bytes: they take a
/// packet into a buffer, call in, and send what comes back.
/// </summary>
internal sealed class PacketPath(StunRequestHandler handler, TurnMetrics metrics)
{
    /// <summary>The largest UDP payload (IPv6: 65,535 less the 8-byte UDP header); every peer datagram fits whole.</summary>
    public const int MaxDatagram = ushort.MaxValue - 8;

    /// <summary>A buffer a peer datagram is received into: room in front for the client's frame header and behind for padding.</summary>
    public const int PeerBufferLength = PeerData.Headroom + MaxDatagram + PeerData.Tailroom;

    /// <summary>Room a response is written into; no answer here is longer.</summary>
    public const int ResponseLength = 2048;

    public StunRequestHandler Handler => handler;

    public TurnMetrics Metrics => metrics;

    /// <summary>
    /// One packet from a client (RFC 8656 §12.5: the first two bits tell ChannelData from STUN):
    /// ChannelData is relayed to its peer, STUN is answered into <paramref name="response"/>.
    /// </summary>
    public HandleResult FromClient(ReadOnlySpan<byte> packet, in RequestContext context, Span<byte> response)
    {
        HandleResult result;
        if (PacketClassifier.Classify(packet) == PacketKind.ChannelData)
        {
            result = handler.ChannelData(packet, context);
            metrics.CountPacket(context.Transport, result);
        }
        else
        {
            long start = Stopwatch.GetTimestamp();
            result = handler.Handle(packet, context, response);
            metrics.CountPacket(context.Transport, result, start);
        }

        if (result.Outcome == Outcome.Relayed)
        {
            metrics.CountRelayed(RelayDirection.ToPeer, context.Transport, result.RelayedBytes);
        }

        return result;
    }

    /// <summary>A stream that was not STUN or ChannelData; the connection is closed after it.</summary>
    public void NotStun(TransportProtocol transport) => metrics.CountPacket(transport, HandleResult.Drop(Outcome.DroppedNotStun));

    /// <summary>
    /// RFC 8656 §11.3 and §12.7: a datagram from a peer, received <see cref="PeerData.Headroom"/>
    /// bytes into <paramref name="buffer"/>, passes when the peer's address has a permission and
    /// the allocation has bandwidth left, and goes to the client as ChannelData when a channel is
    /// bound to that exact transport address, as a Data indication otherwise; relayed whole or not
    /// at all. The frame is written in place around the payload. Returns the frame's length (0:
    /// dropped, and counted) and its <paramref name="offset"/> in the buffer.
    /// </summary>
    public int FromPeer(Allocation allocation, Span<byte> buffer, int received, StunAddress peer, long nowMs, out int offset)
    {
        offset = 0;
        TransportProtocol clientTransport = allocation.FiveTuple.Protocol;
        bool clientIsIPv4 = allocation.ClientIsIPv4;

        // Too large even for ChannelData, the smaller frame: dropped before it costs the allocation's quota.
        if (!PeerData.Fits(received, peer, TurnAttributes.MinChannel, clientTransport, clientIsIPv4))
        {
            metrics.CountDrop(Outcome.DroppedTooBig);
            return 0;
        }

        // No permission for this peer, or over the bandwidth cap: silently dropped.
        if (!allocation.AdmitFromPeer(peer, received, nowMs, out ushort channel, out bool overQuota))
        {
            metrics.CountDrop(overQuota ? Outcome.DroppedQuota : Outcome.DroppedNoPermission);
            return 0;
        }

        // A Data indication is larger than the ChannelData checked above.
        if (channel == 0 && !PeerData.Fits(received, peer, channel, clientTransport, clientIsIPv4))
        {
            metrics.CountDrop(Outcome.DroppedTooBig);
            return 0;
        }

        Span<byte> transactionId = stackalloc byte[StunHeader.TransactionIdLength];
        if (channel == 0)
        {
            allocation.NextDataTransactionId(transactionId);
        }

        (offset, int length) = PeerData.Frame(buffer, received, peer, channel, clientTransport != TransportProtocol.Udp, transactionId);
        return length;
    }

    /// <summary>Counts a frame <see cref="FromPeer"/> made once the transport has sent or dropped it.</summary>
    public void Delivered(Allocation allocation, int payloadBytes, bool sent)
    {
        if (sent)
        {
            metrics.CountRelayed(RelayDirection.ToClient, allocation.FiveTuple.Protocol, payloadBytes);
        }
        else
        {
            metrics.CountDrop(Outcome.DroppedSendFailed);
        }
    }

    /// <summary>
    /// A datagram to a peer counted as relayed when it joined a batch, which the kernel then
    /// refused (a full buffer, an unreachable network): counted as a send failure instead.
    /// </summary>
    public void ToPeerFailed(TransportProtocol transport, int bytes) => metrics.RecountSendFailed(transport, bytes);

    /// <summary>
    /// RFC 8656 §11.5: an ICMP error about a datagram sent to a peer the client has a permission
    /// for goes to the client as a Data indication with XOR-PEER-ADDRESS and ICMP and no DATA.
    /// Returns its length in <paramref name="buffer"/>, 0 when it is not reported.
    /// </summary>
    public int IcmpReport(Allocation allocation, StunAddress peer, byte type, byte code, uint info, long nowMs, Span<byte> buffer)
    {
        if (!IsReportable(peer.IsIPv4, type, code) || !allocation.HasPermission(peer, nowMs))
        {
            return 0;
        }

        Span<byte> transactionId = stackalloc byte[StunHeader.TransactionIdLength];
        allocation.NextDataTransactionId(transactionId);
        var writer = StunWriter.Create(buffer, StunMethod.Data, StunClass.Indication, transactionId);
        writer.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
        bool tooBig = peer.IsIPv4 ? type == 3 && code == 4 : type == 2;
        TurnAttributes.WriteIcmp(writer.Reserve(StunAttributeType.Icmp, 8), type, code, tooBig ? info : 0);
        return writer.Length;
    }

    /// <summary>Counts an ICMP report the transport passed on.</summary>
    public void IcmpReported() => metrics.CountIcmpReported();

    /// <summary>A socket error or a fault in a transport's loop.</summary>
    public void Error(TransportProtocol transport) => metrics.CountError(transport);

    /// <summary>RFC 8656 §11.5: IPv4 Destination Unreachable and Time Exceeded; IPv6 Destination Unreachable, Packet Too Big and Time Exceeded.</summary>
    private static bool IsReportable(bool ipv4, byte type, byte code)
        => ipv4 ? type is 3 or 11 : type is 1 or 2 or 3 && code < 16;
}
