using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>
    /// RFC 8656 §12.2:
    /// 1. authenticate; no allocation: 437; other credentials: 441;
    /// 2. CHANNEL-NUMBER in 0x4000-0x7FFF (RFC 5766 §11, which coturn's clients use) and one XOR-PEER-ADDRESS (400);
    /// 3. the peer allowed by the peer policy (403), then of a family the allocation relays (443);
    /// 4. the channel bound to another peer, or the peer to another channel: 400; no room: 508;
    /// 5. the binding (10 minutes) and the peer's permission (5 minutes) installed or refreshed.
    /// </summary>
    private HandleResult ChannelBind(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response)
    {
        if (!TryGetOwnAllocation(request, context, relay, response, out Allocation allocation, out AuthResult auth, out HandleResult error))
        {
            return error;
        }

        if (!request.TryGetAttribute(StunAttributeType.ChannelNumber, out ReadOnlySpan<byte> channelValue)
            || !TurnAttributes.TryReadChannelNumber(channelValue, out ushort channel)
            || channel < TurnAttributes.MinChannel || channel > TurnAttributes.MaxChannel)
        {
            return Error(request, context, response, StunErrors.BadRequest, "CHANNEL-NUMBER missing or out of range", default, auth);
        }

        if (!TryReadPeer(request, relay, out StunAddress peer))
        {
            return Error(request, context, response, StunErrors.BadRequest, "XOR-PEER-ADDRESS missing or malformed", default, auth);
        }

        if (!IsPeerAllowed(relay, peer))
        {
            return Error(request, context, response, StunErrors.Forbidden, "Peer address not allowed", default, auth);
        }

        if (allocation.RelayFor(peer.Family) is null)
        {
            return Error(request, context, response, StunErrors.PeerAddressFamilyMismatch, default, auth);
        }

        RelayLimits limits = relay.Limits;
        switch (allocation.BindChannel(channel, peer, context.NowMs + (limits.ChannelLifetimeSeconds * 1000L), context.NowMs + (limits.PermissionLifetimeSeconds * 1000L)))
        {
            case ChannelBindResult.Conflict:
                return Error(request, context, response, StunErrors.BadRequest, "Channel or peer already bound otherwise", default, auth);
            case ChannelBindResult.NoCapacity:
                return Error(request, context, response, StunErrors.InsufficientCapacity, default, auth);
            default:
                break;
        }

        var writer = StunWriter.ForResponse(response, request, StunClass.SuccessResponse);
        Finish(ref writer, request, auth);
        return new HandleResult(Outcome.Answered, writer.Length, context.Role, 0) { Signed = auth.Key is not null };
    }
}
