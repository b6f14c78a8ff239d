using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>Longest nonce this server issues, with room to spare.</summary>
    private const int NonceBufferLength = 64;

    /// <summary>
    /// RFC 8489 §9.2.4 for a TURN request. On failure <paramref name="error"/> is the complete
    /// answer: 400, or 401/438 with REALM, a fresh NONCE and PASSWORD-ALGORITHMS.
    /// </summary>
    private AuthResult Authenticate(in StunMessage request, in RequestContext context, RelayServices relay, Allocation? allocation, Span<byte> response, out HandleResult error)
    {
        AuthResult auth = relay.Authenticator.Check(request, context.Source, context.UnixSeconds, allocation?.Username, allocation?.Key);
        error = default;
        switch (auth.Status)
        {
            case AuthStatus.Ok:
                // RFC 8489 §6.3: once the credentials check out, unknown comprehension-required attributes get a signed 420.
                Span<ushort> unknown = stackalloc ushort[MaxUnknown];
                int unknownCount = request.CollectUnknownRequired(KnownAttributes.Basic, unknown);
                if (unknownCount > 0)
                {
                    error = Error(request, context, response, StunErrors.UnknownAttribute, unknown[..unknownCount], auth);
                    return auth with { Status = AuthStatus.BadRequest };
                }

                return auth;
            case AuthStatus.BadRequest:
                error = Error(request, context, response, StunErrors.BadRequest, auth.Reason, default) with { Auth = auth.Status };
                return auth;
            default:
                error = Challenge(request, context, relay, response, auth.Status == AuthStatus.StaleNonce ? StunErrors.StaleNonce : StunErrors.Unauthorized) with { Auth = auth.Status };
                return auth;
        }
    }

    private HandleResult Challenge(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response, int code)
    {
        var writer = StunWriter.ForResponse(response, request, StunClass.ErrorResponse);
        writer.AddErrorCode(code, StunErrors.Reason(code));
        writer.AddText(StunAttributeType.Realm, relay.Authenticator.Credentials.Realm);
        Span<byte> nonce = stackalloc byte[NonceBufferLength];
        int nonceLength = relay.Authenticator.Nonces.Create(context.Source, context.UnixSeconds, nonce);
        writer.AddBytes(StunAttributeType.Nonce, nonce[..nonceLength]);
        Span<byte> algorithms = writer.Reserve(StunAttributeType.PasswordAlgorithms, CredentialStore.Algorithms.Length * 4);
        PasswordAlgorithm.WriteList(algorithms, CredentialStore.Algorithms);
        Finish(ref writer, request);
        return new HandleResult(Outcome.Rejected, writer.Length, context.Role, 0) { Code = code };
    }

    /// <summary>
    /// The allocation on this five-tuple, once the request is authenticated with the credentials
    /// that made it (RFC 8656 §7.3, §9.2, §12.2): 437 when there is none, 441 for other credentials.
    /// </summary>
    private bool TryGetOwnAllocation(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response, out Allocation allocation, out AuthResult auth, out HandleResult error)
    {
        relay.Allocations.TryGet(context.FiveTuple, out allocation);
        auth = Authenticate(request, context, relay, allocation, response, out error);
        if (auth.Status != AuthStatus.Ok)
        {
            return false;
        }

        if (allocation is null)
        {
            error = Error(request, context, response, StunErrors.AllocationMismatch, default, auth);
            return false;
        }

        if (auth.Username != allocation.Username || !auth.Key!.Matches(allocation.Key))
        {
            error = Error(request, context, response, StunErrors.WrongCredentials, default, auth);
            return false;
        }

        return true;
    }

    /// <summary>
    /// The peer policy, with one refinement it cannot make alone: this server's own relay address
    /// passes only when the port really is another allocation's relayed address, not merely a port
    /// inside the relay range where some local service might listen. The address judged is the one
    /// the datagram goes to: the policy grants that exception to the literal address only.
    /// </summary>
    private static bool IsPeerAllowed(RelayServices relay, StunAddress peer)
    {
        PeerVerdict verdict = relay.Peers.Evaluate(peer);
        return verdict == PeerVerdict.AllowedOwnRelay
            ? relay.Allocations.IsRelayedAddress(peer) || relay.Peers.AllowsAsLoopback(peer)
            : PeerFilter.Allows(verdict);
    }

    private HandleResult Error(in StunMessage request, in RequestContext context, Span<byte> response, int code, ReadOnlySpan<ushort> unknown, in AuthResult auth)
        => Error(request, context, response, code, StunErrors.Reason(code), unknown, auth);

    /// <summary>
    /// The one XOR-PEER-ADDRESS of a ChannelBind or Send indication (RFC 8656 §11.1, §12.1 name a
    /// single peer; a second one is malformed, not ignored), as the address datagrams go to: an
    /// IPv4-mapped IPv6 address is the IPv4 address it maps (RFC 4291 §2.5.5.2), and an external
    /// relay address is its private one.
    /// </summary>
    private static bool TryReadPeer(in StunMessage request, RelayServices relay, out StunAddress peer)
    {
        peer = default;
        ReadOnlySpan<byte> value = default;
        int count = 0;
        foreach (StunAttribute attribute in request.Attributes)
        {
            if (attribute.Type == (ushort)StunAttributeType.XorPeerAddress && ++count == 1)
            {
                value = attribute.Value;
            }
        }

        return count == 1 && TryReadPeer(value, request, relay, out peer);
    }

    private static bool TryReadPeer(ReadOnlySpan<byte> value, in StunMessage request, RelayServices relay, out StunAddress peer)
    {
        if (!AddressAttribute.TryReadXor(value, request.CookieAndTransactionId, out peer))
        {
            return false;
        }

        if (AddressCanonicalizer.IsIPv4Mapped(peer))
        {
            peer = AddressCanonicalizer.Canonicalize(peer);
        }

        peer = relay.AddressMap.ToInternal(peer);
        return true;
    }
}
