using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// Where a packet came from and which listening socket took it. <paramref name="Role"/> is the
/// socket's place in the RFC 5780 grid (bit 0: alternate port, bit 1: alternate address), or -1
/// for a socket outside it. <paramref name="Local"/> is the address the socket is bound to, which
/// is a wildcard for a socket bound to all interfaces; with the transport and the source it
/// names the five-tuple. The clock readings and the client transport are filled by the socket
/// loop, so handlers never read a clock or touch a socket themselves.
/// </summary>
internal readonly record struct RequestContext(TransportProtocol Transport, StunAddress Source, StunAddress Local, int Role)
{
    /// <summary>Monotonic milliseconds, for lifetimes.</summary>
    public long NowMs { get; init; }

    /// <summary>Wall-clock Unix seconds, for nonces and REST username expiry.</summary>
    public long UnixSeconds { get; init; }

    /// <summary>The listener or connection, for an Allocate to reach the client later.</summary>
    public IClientTransport? Client { get; init; }

    public FiveTuple FiveTuple => new(Transport, Source, Local);
}
