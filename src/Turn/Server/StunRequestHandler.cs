using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// Turns one datagram or stream frame into at most one response, written into the caller's
/// buffer. No sockets, no clock, no allocation: the transports own I/O and counting.
/// </summary>
internal sealed partial class StunRequestHandler(StunServerSettings settings, RelayServices? relay = null)
{
    /// <summary>At most this many types go into UNKNOWN-ATTRIBUTES.</summary>
    private const int MaxUnknown = 16;

    private readonly StunServerSettings _settings = settings;
    private RelayServices? _relay = relay;

    /// <summary>The relay's services; a reload swaps in a new snapshot and each packet reads one.</summary>
    public RelayServices? Relay => Volatile.Read(ref _relay);

    /// <summary>Swaps in a reloaded snapshot. Packets in flight finish with the one they read.</summary>
    public void Reload(RelayServices relay) => Volatile.Write(ref _relay, relay);

    public HandleResult Handle(ReadOnlySpan<byte> packet, in RequestContext context, Span<byte> response)
    {
        StunParseStatus status = StunMessage.TryParse(packet, out StunMessage message);
        if (status != StunParseStatus.Ok)
        {
            return HandleResult.Drop(status switch
            {
                StunParseStatus.Truncated => Outcome.DroppedTruncated,
                StunParseStatus.NotStun => Outcome.DroppedNotStun,
                _ => Outcome.DroppedMalformed,
            });
        }

        RelayServices? relay = Relay;

        // RFC 8656 §11.2: the Send indication is the one indication a server acts on.
        if (message.Class == StunClass.Indication && message.Method == StunMethod.Send && relay is not null && message.HasMagicCookie)
        {
            // RFC 8489 §6.3.2: an indication with an unknown comprehension-required attribute is discarded.
            Span<ushort> unknownInIndication = stackalloc ushort[1];
            return message.CollectUnknownRequired(KnownAttributes.Basic, unknownInIndication) > 0
                ? HandleResult.Drop(Outcome.DroppedMalformed)
                : Send(message, context, relay);
        }

        // RFC 8489 §6.3: other indications get no answer, and responses are not for a server.
        if (message.Class != StunClass.Request || (!message.HasMagicCookie && message.Method != StunMethod.Binding))
        {
            return HandleResult.Drop(Outcome.Ignored);
        }

        // A UDP source can be spoofed, so what it can make the server send unsigned is budgeted (TCP
        // and TLS sources cannot: they completed a handshake). The cheapest checks come first: a
        // source that spent its budget gets nothing, before its credentials are checked.
        SourceBudget? budget = context.Transport == TransportProtocol.Udp ? relay?.UnauthenticatedBudget : null;
        bool spent = budget is not null && budget.IsSpent(context.Source, context.NowMs);
        if (spent && !ProvesItsSource(message, context, relay!))
        {
            return HandleResult.Drop(Outcome.DroppedRateLimited) with { Method = message.Method };
        }

        HandleResult answer = Answer(message, context, relay, response);
        if (budget is not null && answer.Length > 0 && !answer.Signed)
        {
            if (spent)
            {
                return HandleResult.Drop(Outcome.DroppedRateLimited) with { Method = message.Method };
            }

            budget.Charge(context.Source, answer.Length, context.NowMs);
        }

        return answer;
    }

    /// <summary>
    /// Whether a TURN request comes from where it says, though its source spent its budget: it is on an
    /// allocation made from this five-tuple, or it carries integrity and a nonce this server gave
    /// that address (one short HMAC, RFC 8489 §9.2), which a spoofer never received. Its answer is
    /// signed when the credentials check out, and dropped when they do not.
    /// </summary>
    private static bool ProvesItsSource(in StunMessage message, in RequestContext context, RelayServices relay)
    {
        if (message.Method == StunMethod.Binding)
        {
            return false;
        }

        if (relay.Allocations.TryGet(context.FiveTuple, out _))
        {
            return true;
        }

        return (message.IntegrityOffset >= 0 || message.IntegritySha256Offset >= 0)
            && message.TryGetAttribute(StunAttributeType.Nonce, out ReadOnlySpan<byte> nonce)
            && relay.Authenticator.Nonces.IsValid(nonce, context.Source, context.UnixSeconds);
    }

    /// <summary>A request's answer, once the source may be answered at all.</summary>
    private HandleResult Answer(in StunMessage message, in RequestContext context, RelayServices? relay, Span<byte> response)
    {

        if (message.Method == StunMethod.Binding)
        {
            // RFC 8489 §6.3.1: unknown comprehension-required attributes get 420 and a list of them.
            // Binding is not authenticated, so the check comes first; TURN requests make it once
            // the credentials are checked (RFC 8489 §6.3), and sign the 420.
            NatBehaviorAddresses? nat = NatBehaviorFor(context);
            Span<ushort> unknown = stackalloc ushort[MaxUnknown];
            int unknownCount = message.CollectUnknownRequired(nat is null ? KnownAttributes.Basic : KnownAttributes.WithNatBehavior, unknown);
            if (nat is null && unknownCount > 0)
            {
                unknownCount = ForgiveEmptyChangeRequest(message, unknown[..unknownCount]);
            }

            HandleResult binding = unknownCount > 0
                ? Error(message, context, response, StunErrors.UnknownAttribute, unknown[..unknownCount])
                : Binding(message, context, nat, response);
            return binding with { Method = StunMethod.Binding };
        }

        HandleResult result = relay is null
            ? Error(message, context, response, StunErrors.BadRequest, default)
            : message.Method switch
            {
                StunMethod.Allocate => Allocate(message, context, relay, response),
                StunMethod.Refresh => Refresh(message, context, relay, response),
                StunMethod.CreatePermission => CreatePermission(message, context, relay, response),
                StunMethod.ChannelBind => ChannelBind(message, context, relay, response),
                _ => Error(message, context, response, StunErrors.BadRequest, default),
            };
        return result with { Method = message.Method };
    }

    /// <summary>
    /// Classic NAT-discovery clients send CHANGE-REQUEST with no flag set in their first test; that
    /// asks for nothing a single-address server cannot do, so it is not held against them.
    /// </summary>
    private static int ForgiveEmptyChangeRequest(in StunMessage message, Span<ushort> unknown)
    {
        int index = unknown.IndexOf((ushort)StunAttributeType.ChangeRequest);
        if (index < 0
            || !message.TryGetAttribute(StunAttributeType.ChangeRequest, out ReadOnlySpan<byte> value)
            || !NatBehaviorAttributes.TryReadChangeRequest(value, out bool changeIp, out bool changePort)
            || changeIp || changePort)
        {
            return unknown.Length;
        }

        unknown[(index + 1)..].CopyTo(unknown[index..]);
        return unknown.Length - 1;
    }

    private NatBehaviorAddresses? NatBehaviorFor(in RequestContext context)
    {
        NatBehaviorAddresses? nat = _settings.NatBehavior;
        return nat is not null && context.Role >= 0 && nat.Family == context.Source.Family ? nat : null;
    }

    private HandleResult Error(in StunMessage request, in RequestContext context, Span<byte> response, int code, ReadOnlySpan<ushort> unknown)
        => Error(request, context, response, code, StunErrors.Reason(code), unknown);

    private HandleResult Error(in StunMessage request, in RequestContext context, Span<byte> response, int code, string reason, ReadOnlySpan<ushort> unknown, in AuthResult auth = default)
    {
        var writer = StunWriter.ForResponse(response, request, StunClass.ErrorResponse);
        writer.AddErrorCode(code, reason);
        if (!unknown.IsEmpty)
        {
            writer.AddUnknownAttributes(unknown);
        }

        Finish(ref writer, request, auth);
        return new HandleResult(Outcome.Rejected, writer.Length, context.Role, 0) { Code = code, Signed = auth.Key is not null };
    }

    /// <summary>
    /// The trailer. A signed answer (the client proved its credentials) gets SOFTWARE, then
    /// MESSAGE-INTEGRITY(-SHA256), then FINGERPRINT. An unsigned one (Binding responses, 401 and 438
    /// challenges, errors before authentication) is what a spoofed request can aim at a victim, so
    /// it carries only what the RFCs require: no SOFTWARE (RFC 8489 §14.14 makes it optional), and
    /// FINGERPRINT only when the request had one (the client multiplexes STUN with other traffic and
    /// checks it, RFC 8489 §7). A classic RFC 3489 peer would understand none of them.
    /// </summary>
    private void Finish(ref StunWriter writer, in StunMessage request, in AuthResult auth = default)
    {
        if (!request.HasMagicCookie)
        {
            return;
        }

        if (auth.Key is null)
        {
            if (request.FingerprintOffset >= 0)
            {
                writer.AddFingerprint();
            }

            return;
        }

        if (_settings.Software.Length > 0)
        {
            writer.AddText(StunAttributeType.Software, _settings.Software);
        }

        if (auth.Sha256Integrity)
        {
            writer.AddMessageIntegritySha256(auth.Key.Key);
        }
        else
        {
            writer.AddMessageIntegrity(auth.Key.Key);
        }

        writer.AddFingerprint();
    }
}
