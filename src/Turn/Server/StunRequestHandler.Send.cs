using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>
    /// RFC 8656 §11.2, a Send indication: with no allocation, no XOR-PEER-ADDRESS or DATA, a peer
    /// the policy denies, no permission or no bandwidth left, the data is dropped (and counted);
    /// otherwise it leaves the relay socket as one UDP datagram. Nothing is ever answered.
    /// </summary>
    private static HandleResult Send(in StunMessage indication, in RequestContext context, RelayServices relay)
    {
        if (!relay.Allocations.TryGet(context.FiveTuple, out Allocation allocation))
        {
            return HandleResult.Drop(Outcome.DroppedNoAllocation);
        }

        if (!TryReadPeer(indication, relay, out StunAddress peer) || !indication.TryGetAttribute(StunAttributeType.Data, out ReadOnlySpan<byte> data))
        {
            return HandleResult.Drop(Outcome.DroppedMalformed);
        }

        return Forward(allocation, peer, data, context.NowMs, relay);
    }

    /// <summary>
    /// RFC 8656 §12.6, ChannelData from the client: forwarded straight from the receive buffer
    /// when the channel is bound (and its peer permitted), dropped otherwise.
    /// </summary>
    public HandleResult ChannelData(ReadOnlySpan<byte> packet, in RequestContext context)
    {
        RelayServices? relay = Relay;
        if (relay is null || !Wire.ChannelData.TryParse(packet, out ushort channel, out ReadOnlySpan<byte> data))
        {
            return HandleResult.Drop(Outcome.DroppedMalformed);
        }

        if (!relay.Allocations.TryGet(context.FiveTuple, out Allocation allocation))
        {
            return HandleResult.Drop(Outcome.DroppedNoAllocation);
        }

        if (!allocation.TryGetChannelPeer(channel, context.NowMs, out StunAddress peer))
        {
            return HandleResult.Drop(Outcome.DroppedNoPermission);
        }

        return Forward(allocation, peer, data, context.NowMs, relay, checkPermission: false);
    }

    private static HandleResult Forward(Allocation allocation, StunAddress peer, ReadOnlySpan<byte> data, long nowMs, RelayServices relay, bool checkPermission = true)
    {
        IRelayEndpoint? endpoint = allocation.RelayFor(peer.Family);
        if (endpoint is null || !IsPeerAllowed(relay, peer))
        {
            return HandleResult.Drop(Outcome.DroppedDeniedPeer);
        }

        if (checkPermission && !allocation.HasPermission(peer, nowMs))
        {
            return HandleResult.Drop(Outcome.DroppedNoPermission);
        }

        if (!allocation.TakeToPeer(data.Length, nowMs))
        {
            return HandleResult.Drop(Outcome.DroppedQuota);
        }

        return endpoint.SendTo(data, peer)
            ? HandleResult.Drop(Outcome.Relayed) with { RelayedBytes = data.Length }
            : HandleResult.Drop(Outcome.DroppedSendFailed);
    }
}
