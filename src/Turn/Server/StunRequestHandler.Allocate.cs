using System.Net.Sockets;
using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

internal sealed partial class StunRequestHandler
{
    /// <summary>
    /// RFC 8656 §7.2, the server's steps for an Allocate request:
    /// 1. authenticate (401, 438, 400); a draining server refuses new allocations (403);
    /// 2. an allocation already on this five-tuple: the same transaction is answered again, another gets 437;
    /// 3. REQUESTED-TRANSPORT must be present (400) and UDP (442);
    /// 4. DONT-FRAGMENT is honoured: the relay socket sets the DF bit;
    /// 5. RESERVATION-TOKEN excludes EVEN-PORT and the address-family attributes (400);
    /// 6. REQUESTED-ADDRESS-FAMILY picks the family (440 when not served), ADDITIONAL-ADDRESS-FAMILY
    ///    asks for IPv6 beside IPv4 (400 for anything else, or with REQUESTED-ADDRESS-FAMILY);
    /// 7. quotas: 486 for the user or the client's address, 508 for the server; no relay port: 508;
    /// 8. the lifetime is the requested one within [default, maximum];
    /// 9. success: XOR-RELAYED-ADDRESS (one per family), LIFETIME, RESERVATION-TOKEN, XOR-MAPPED-ADDRESS,
    ///    and ADDRESS-ERROR-CODE when the second family of a dual allocation failed.
    /// </summary>
    private HandleResult Allocate(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response)
    {
        relay.Allocations.TryGet(context.FiveTuple, out Allocation? existing);
        AuthResult auth = Authenticate(request, context, relay, existing, response, out HandleResult error);
        if (auth.Status != AuthStatus.Ok)
        {
            return error;
        }

        if (existing is not null)
        {
            return existing.IsAllocateTransaction(request.TransactionId) && existing.Username == auth.Username
                ? AllocateSuccess(request, context, relay, existing, response, auth)
                : Error(request, context, response, StunErrors.AllocationMismatch, default, auth);
        }

        if (relay.Draining)
        {
            return Drained(request, context, relay, response, auth);
        }

        int invalid = CheckAllocateRequest(request, relay, out AllocateOptions options, out bool dontFragment, out string? problem);
        if (invalid != 0)
        {
            return Error(request, context, response, invalid, problem ?? StunErrors.Reason(invalid), default, auth);
        }

        // The operator's static users are not minted per browser peer: the address quota is not theirs.
        bool perAddress = !relay.Authenticator.Credentials.IsStaticUser(auth.Username!);
        switch (relay.Allocations.TryReserve(auth.Username!, context.Source, relay.Limits, perAddress))
        {
            case QuotaResult.UserFull:
                return Error(request, context, response, StunErrors.AllocationQuotaReached, default, auth);
            case QuotaResult.AddressFull:
                return Error(request, context, response, StunErrors.AllocationQuotaReached, "Allocation Quota Reached for this address", default, auth) with { AddressQuota = true };
            case QuotaResult.ServerFull:
                return Error(request, context, response, StunErrors.InsufficientCapacity, default, auth);
            default:
                break;
        }

        Allocation? allocation = null;
        try
        {
            if (OpenRelays(relay, options, dontFragment, out IRelayEndpoint? second, out int secondError, out ulong reservation) is not { } first)
            {
                return Error(request, context, response, StunErrors.InsufficientCapacity, default, auth);
            }

            bool firstIsV4 = first.Local.IsIPv4;
            allocation = new Allocation(
                context.FiveTuple,
                auth.Username!,
                auth.Key!,
                firstIsV4 ? first : second,
                firstIsV4 ? second : first,
                context.Client!.SenderFor(context.Source),
                relay.Limits,
                context.NowMs + (Lifetime(request, relay.Limits) * 1000L),
                request.TransactionId)
            {
                ReservationToken = reservation,
                CountsAgainstAddress = perAddress,
                AdditionalFamilyError = secondError,
                CreatedAt = context.NowMs,
            };
            return AllocateSuccess(request, context, relay, allocation, response, auth);
        }
        finally
        {
            if (allocation is not null)
            {
                context.Client!.Attach(allocation);
            }

            relay.Allocations.Complete(auth.Username!, context.Source, allocation, perAddress);
        }
    }

    /// <summary>
    /// RFC 8656 §7.2 steps 2-6 of an Allocate: REQUESTED-TRANSPORT present and UDP (400, 442),
    /// DONT-FRAGMENT well formed (400), the family and port options consistent (400) and the
    /// family relayed here (440). 0 when they hold; else the code, with a reason for a 400.
    /// </summary>
    private static int CheckAllocateRequest(in StunMessage request, RelayServices relay, out AllocateOptions options, out bool dontFragment, out string? problem)
    {
        options = default;
        dontFragment = false;
        problem = null;
        if (!request.TryGetAttribute(StunAttributeType.RequestedTransport, out ReadOnlySpan<byte> transport)
            || !TurnAttributes.TryReadRequestedTransport(transport, out byte protocol))
        {
            problem = "REQUESTED-TRANSPORT missing or malformed";
            return StunErrors.BadRequest;
        }

        if (protocol != TurnAttributes.ProtocolUdp)
        {
            return StunErrors.UnsupportedTransportProtocol;
        }

        dontFragment = request.TryGetAttribute(StunAttributeType.DontFragment, out ReadOnlySpan<byte> df);
        if (dontFragment && !TurnAttributes.IsValidDontFragment(df))
        {
            problem = "Malformed DONT-FRAGMENT";
            return StunErrors.BadRequest;
        }

        if (!TryReadAllocateOptions(request, out options, out problem))
        {
            return StunErrors.BadRequest;
        }

        return options.Token is null && !relay.Ports.Supports(options.Family) ? StunErrors.AddressFamilyNotSupported : 0;
    }

    /// <summary>
    /// A new allocation's relay endpoints: the first reserved by a token or opened (null when no
    /// port is free), and for a dual-stack request an IPv6 one, or the code that says why not.
    /// </summary>
    private static IRelayEndpoint? OpenRelays(RelayServices relay, in AllocateOptions options, bool dontFragment, out IRelayEndpoint? second, out int secondError, out ulong reservation)
    {
        reservation = 0;
        second = null;
        secondError = 0;
        IRelayEndpoint? first = options.Token is ulong token
            ? relay.Ports.TakeReserved(token)
            : relay.Ports.Open(options.Family, options.EvenPort, options.ReserveNext, dontFragment, out reservation);
        if (first is not null && options.Dual)
        {
            bool v6 = relay.Ports.Supports(AddressFamily.InterNetworkV6);
            second = v6 ? relay.Ports.Open(AddressFamily.InterNetworkV6, false, false, dontFragment, out _) : null;
            secondError = second is not null ? 0 : v6 ? StunErrors.InsufficientCapacity : StunErrors.AddressFamilyNotSupported;
        }

        return first;
    }

    private HandleResult AllocateSuccess(in StunMessage request, in RequestContext context, RelayServices relay, Allocation allocation, Span<byte> response, in AuthResult auth)
    {
        ulong reservation = allocation.ReservationToken;
        int secondError = allocation.AdditionalFamilyError;
        var writer = StunWriter.ForResponse(response, request, StunClass.SuccessResponse);
        if (allocation.Relay4 is not null)
        {
            writer.AddXorAddress(StunAttributeType.XorRelayedAddress, relay.AddressMap.ToExternal(allocation.Relay4.Local));
        }

        if (allocation.Relay6 is not null)
        {
            writer.AddXorAddress(StunAttributeType.XorRelayedAddress, relay.AddressMap.ToExternal(allocation.Relay6.Local));
        }

        long remaining = Math.Max(0, (allocation.ExpiresAt - context.NowMs) / 1000);
        writer.AddUInt32(StunAttributeType.Lifetime, (uint)remaining);
        if (reservation != 0)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(writer.Reserve(StunAttributeType.ReservationToken, 8), reservation);
        }

        writer.AddXorAddress(StunAttributeType.XorMappedAddress, context.Source);
        if (secondError != 0)
        {
            // RFC 8656 §18.12: the IPv6 half of a dual allocation could not be had.
            Span<byte> scratch = stackalloc byte[64];
            int length = ErrorCodeAttribute.Write(scratch, secondError, StunErrors.Reason(secondError), AddressAttribute.FamilyIPv6);
            writer.AddBytes(StunAttributeType.AddressErrorCode, scratch[..length]);
        }

        Finish(ref writer, request, auth);
        return new HandleResult(Outcome.Answered, writer.Length, context.Role, 0) { Signed = auth.Key is not null };
    }

    /// <summary>RFC 8656 §7.2 step 8: at least the default, at most the maximum.</summary>
    private static long Lifetime(in StunMessage request, RelayLimits limits)
    {
        long lifetime = limits.DefaultLifetimeSeconds;
        if (request.TryGetAttribute(StunAttributeType.Lifetime, out ReadOnlySpan<byte> value) && TurnAttributes.TryReadLifetime(value, out uint requested))
        {
            lifetime = Math.Max(lifetime, requested);
        }

        return Math.Min(lifetime, limits.MaxLifetimeSeconds);
    }

    private static bool TryReadAllocateOptions(in StunMessage request, out AllocateOptions options, out string? problem)
    {
        options = new AllocateOptions { Family = AddressFamily.InterNetwork };
        problem = null;
        bool hasToken = request.TryGetAttribute(StunAttributeType.ReservationToken, out ReadOnlySpan<byte> tokenValue);
        bool hasEven = request.TryGetAttribute(StunAttributeType.EvenPort, out ReadOnlySpan<byte> evenValue);
        bool hasFamily = request.TryGetAttribute(StunAttributeType.RequestedAddressFamily, out ReadOnlySpan<byte> familyValue);
        bool hasAdditional = request.TryGetAttribute(StunAttributeType.AdditionalAddressFamily, out ReadOnlySpan<byte> additionalValue)
            || request.TryGetAttribute(StunAttributeType.AdditionalAddressFamilyDraft, out additionalValue);

        if (hasToken && (hasEven || hasFamily || hasAdditional))
        {
            problem = "RESERVATION-TOKEN cannot go with EVEN-PORT or an address family";
            return false;
        }

        if (hasFamily && hasAdditional)
        {
            problem = "REQUESTED-ADDRESS-FAMILY and ADDITIONAL-ADDRESS-FAMILY together";
            return false;
        }

        if (hasToken)
        {
            if (!TurnAttributes.TryReadReservationToken(tokenValue, out ulong token))
            {
                problem = "Malformed RESERVATION-TOKEN";
                return false;
            }

            options = options with { Token = token };
        }

        if (hasEven)
        {
            if (!TurnAttributes.TryReadEvenPort(evenValue, out bool reserveNext))
            {
                problem = "Malformed EVEN-PORT";
                return false;
            }

            options = options with { EvenPort = true, ReserveNext = reserveNext };
        }

        if (hasFamily)
        {
            if (!TurnAttributes.TryReadAddressFamily(familyValue, out byte family))
            {
                problem = "Malformed REQUESTED-ADDRESS-FAMILY";
                return false;
            }

            options = options with { Family = family == AddressAttribute.FamilyIPv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork };
        }

        if (hasAdditional)
        {
            // RFC 8656 §7.2 step 6: only IPv6 may be asked for in addition to IPv4.
            if (!TurnAttributes.TryReadAddressFamily(additionalValue, out byte family) || family != AddressAttribute.FamilyIPv6)
            {
                problem = "ADDITIONAL-ADDRESS-FAMILY must be IPv6";
                return false;
            }

            options = options with { Dual = true };
        }

        return true;
    }

    private readonly record struct AllocateOptions(AddressFamily Family, bool EvenPort, bool ReserveNext, bool Dual, ulong? Token);

    /// <summary>
    /// A new Allocate while draining: 300 Try Alternate with ALTERNATE-SERVER when another server
    /// is configured (RFC 8489 §10, which clients follow), else 403. Signed like any other answer
    /// to an authenticated request.
    /// </summary>
    private HandleResult Drained(in StunMessage request, in RequestContext context, RelayServices relay, Span<byte> response, in AuthResult auth)
    {
        StunAddress? alternate = relay.AlternateServer;
        if (alternate is not { } address || address.Family != context.Source.Family)
        {
            return Error(request, context, response, StunErrors.Forbidden, "Server is draining", default, auth) with { Draining = true };
        }

        var writer = StunWriter.ForResponse(response, request, StunClass.ErrorResponse);
        writer.AddErrorCode(StunErrors.TryAlternate, "Server is draining; try the alternate server");
        writer.AddAddress(StunAttributeType.AlternateServer, address);
        Finish(ref writer, request, auth);
        return new HandleResult(Outcome.Rejected, writer.Length, context.Role, 0) { Code = StunErrors.TryAlternate, Draining = true, Signed = auth.Key is not null };
    }
}
