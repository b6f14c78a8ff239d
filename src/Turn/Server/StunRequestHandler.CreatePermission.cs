using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>At most this many XOR-PEER-ADDRESS attributes are read from one CreatePermission.</summary>
    private const int MaxPeersPerRequest = 16;

    /// <summary>
    /// RFC 8656 §9.2:
    /// 1. authenticate; no allocation: 437; other credentials: 441;
    /// 2. at least one XOR-PEER-ADDRESS, each well formed (400);
    /// 3. each allowed by the peer policy (403), then of a family the allocation relays (443);
    /// 4. all permissions installed or refreshed, or none when the table is full (508).
    /// </summary>
    private HandleResult CreatePermission(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response)
    {
        if (!TryGetOwnAllocation(request, context, relay, response, out Allocation allocation, out AuthResult auth, out HandleResult error))
        {
            return error;
        }

        Span<StunAddress> peers = stackalloc StunAddress[MaxPeersPerRequest];
        int count = 0;
        foreach (StunAttribute attribute in request.Attributes)
        {
            if (attribute.Type != (ushort)StunAttributeType.XorPeerAddress)
            {
                continue;
            }

            if (count == MaxPeersPerRequest || !TryReadPeer(attribute.Value, request, relay, out StunAddress peer))
            {
                return Error(request, context, response, StunErrors.BadRequest, "Malformed or too many XOR-PEER-ADDRESS", default, auth);
            }

            if (!IsPeerAllowed(relay, peer))
            {
                return Error(request, context, response, StunErrors.Forbidden, "Peer address not allowed", default, auth);
            }

            if (allocation.RelayFor(peer.Family) is null)
            {
                return Error(request, context, response, StunErrors.PeerAddressFamilyMismatch, default, auth);
            }

            peers[count++] = peer;
        }

        if (count == 0)
        {
            return Error(request, context, response, StunErrors.BadRequest, "XOR-PEER-ADDRESS missing", default, auth);
        }

        if (!allocation.TryInstallPermissions(peers[..count], context.NowMs + (relay.Limits.PermissionLifetimeSeconds * 1000L)))
        {
            return Error(request, context, response, StunErrors.InsufficientCapacity, default, auth);
        }

        var writer = StunWriter.ForResponse(response, request, StunClass.SuccessResponse);
        Finish(ref writer, request, auth);
        return new HandleResult(Outcome.Answered, writer.Length, context.Role, 0) { Signed = auth.Key is not null };
    }
}
