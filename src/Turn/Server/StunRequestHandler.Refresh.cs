using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>
    /// RFC 8656 §7.3 and §7.4:
    /// 1. authenticate; no allocation on this five-tuple: 437; other credentials: 441;
    /// 2. REQUESTED-ADDRESS-FAMILY naming a family the allocation lacks: 443;
    /// 3. LIFETIME 0 deletes the allocation; otherwise the lifetime is the requested one
    ///    within [default, maximum] (absent: the default);
    /// 4. success with the LIFETIME granted.
    /// </summary>
    private HandleResult Refresh(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response)
    {
        if (!TryGetOwnAllocation(request, context, relay, response, out Allocation allocation, out AuthResult auth, out HandleResult error))
        {
            return error;
        }

        if (request.TryGetAttribute(StunAttributeType.RequestedAddressFamily, out ReadOnlySpan<byte> familyValue))
        {
            if (!TurnAttributes.TryReadAddressFamily(familyValue, out byte family))
            {
                return Error(request, context, response, StunErrors.BadRequest, "Malformed REQUESTED-ADDRESS-FAMILY", default, auth);
            }

            if (allocation.RelayFor(AddressAttribute.FamilyFromCode(family)!.Value) is null)
            {
                return Error(request, context, response, StunErrors.PeerAddressFamilyMismatch, default, auth);
            }
        }

        uint requested = uint.MaxValue;
        if (request.TryGetAttribute(StunAttributeType.Lifetime, out ReadOnlySpan<byte> lifetimeValue) && !TurnAttributes.TryReadLifetime(lifetimeValue, out requested))
        {
            return Error(request, context, response, StunErrors.BadRequest, "Malformed LIFETIME", default, auth);
        }

        long granted;
        if (requested == 0)
        {
            relay.Allocations.Remove(allocation, AllocationEnd.Deleted, context.NowMs);
            granted = 0;
        }
        else
        {
            granted = Lifetime(request, relay.Limits);
            allocation.Refresh(context.NowMs + (granted * 1000));
        }

        var writer = StunWriter.ForResponse(response, request, StunClass.SuccessResponse);
        writer.AddUInt32(StunAttributeType.Lifetime, (uint)granted);
        Finish(ref writer, request, auth);
        return new HandleResult(Outcome.Answered, writer.Length, context.Role, 0) { Signed = auth.Key is not null };
    }
}
