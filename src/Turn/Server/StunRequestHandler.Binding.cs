using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>Largest PADDING echoed back, so a response stays within one typical MTU.</summary>
    private const int MaxPadding = 1200;

    /// <summary>
    /// RFC 8489 §6.3 and §12 (classic clients), with RFC 5780 §6.1 when a second address is configured:
    /// 1. CHANGE-REQUEST picks the socket that answers; it and RESPONSE-PORT are for UDP only.
    /// 2. The response carries XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS for a classic request.
    /// 3. With RFC 5780: RESPONSE-ORIGIN and OTHER-ADDRESS; PADDING is answered with as much padding.
    /// </summary>
    private HandleResult Binding(in StunMessage request, in RequestContext context, NatBehaviorAddresses? nat, Span<byte> response)
    {
        int role = context.Role;
        ushort responsePort = 0;
        if (nat is not null && request.TryGetAttribute(StunAttributeType.ChangeRequest, out ReadOnlySpan<byte> change))
        {
            if (context.Transport != TransportProtocol.Udp)
            {
                return Error(request, context, response, StunErrors.BadRequest, "CHANGE-REQUEST is for UDP only", default);
            }

            if (!NatBehaviorAttributes.TryReadChangeRequest(change, out bool changeIp, out bool changePort))
            {
                return Error(request, context, response, StunErrors.BadRequest, "Malformed CHANGE-REQUEST", default);
            }

            role ^= (changeIp ? 2 : 0) | (changePort ? 1 : 0);
        }

        if (nat is not null && request.TryGetAttribute(StunAttributeType.ResponsePort, out ReadOnlySpan<byte> portValue))
        {
            if (context.Transport != TransportProtocol.Udp || !NatBehaviorAttributes.TryReadResponsePort(portValue, out responsePort) || responsePort == 0)
            {
                return Error(request, context, response, StunErrors.BadRequest, "RESPONSE-PORT is for UDP only, and not 0", default);
            }
        }

        var writer = StunWriter.ForResponse(response, request, StunClass.SuccessResponse);
        if (request.HasMagicCookie)
        {
            writer.AddXorAddress(StunAttributeType.XorMappedAddress, context.Source);
        }
        else
        {
            writer.AddAddress(StunAttributeType.MappedAddress, context.Source);
        }

        if (nat is null && !request.HasMagicCookie && !IsWildcard(context.Local))
        {
            // RFC 3489 §11.1: classic clients expect both; with one address the changed address is the same.
            writer.AddAddress(StunAttributeType.SourceAddress, context.Local);
            writer.AddAddress(StunAttributeType.ChangedAddress, context.Local);
        }

        if (nat is not null)
        {
            if (request.HasMagicCookie)
            {
                writer.AddAddress(StunAttributeType.ResponseOrigin, nat[role]);
                writer.AddAddress(StunAttributeType.OtherAddress, nat[NatBehaviorAddresses.OtherRole(context.Role)]);
            }
            else
            {
                // RFC 3489 §11.2.5 and §11.2.3: the same facts under their classic names.
                writer.AddAddress(StunAttributeType.SourceAddress, nat[role]);
                writer.AddAddress(StunAttributeType.ChangedAddress, nat[NatBehaviorAddresses.OtherRole(context.Role)]);
            }

            if (request.TryGetAttribute(StunAttributeType.Padding, out ReadOnlySpan<byte> padding) && padding.Length > 0)
            {
                writer.Reserve(StunAttributeType.Padding, Math.Min(padding.Length, MaxPadding)).Clear();
            }
        }

        Finish(ref writer, request);
        return new HandleResult(Outcome.Answered, writer.Length, role, responsePort);
    }

    private static bool IsWildcard(StunAddress address) => address.Address == UInt128.Zero;
}
