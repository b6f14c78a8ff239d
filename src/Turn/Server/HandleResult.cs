using Turn.Auth;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// A handler's answer: <paramref name="Length"/> bytes of response in the caller's buffer (0: send
/// nothing), the RFC 5780 role of the socket to send it from, and a destination port when
/// RESPONSE-PORT asked for one (0: the source port). For a request it also says what was asked
/// and how it was answered, for the transports to count.
/// </summary>
internal readonly record struct HandleResult(Outcome Outcome, int Length, int ResponseRole, ushort ResponsePort)
{
    /// <summary>The request's method; 0 for what was not a request (indications, ChannelData, drops).</summary>
    public StunMethod Method { get; init; }

    /// <summary>The error code sent; 0 for a success response.</summary>
    public int Code { get; init; }

    /// <summary>Why authentication failed, when it did (<see cref="AuthStatus.Ok"/> otherwise).</summary>
    public AuthStatus Auth { get; init; }

    /// <summary>The response carries MESSAGE-INTEGRITY(-SHA256): an answer to a client that proved its credentials.</summary>
    public bool Signed { get; init; }

    /// <summary>An Allocate refused because its client address holds its share of allocations.</summary>
    public bool AddressQuota { get; init; }

    /// <summary>An Allocate turned away because the server is draining.</summary>
    public bool Draining { get; init; }

    /// <summary>Application bytes sent to a peer, for <see cref="Outcome.Relayed"/>.</summary>
    public int RelayedBytes { get; init; }

    public static HandleResult Drop(Outcome outcome) => new(outcome, 0, -1, 0);
}
