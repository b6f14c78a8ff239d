using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// Where a packet came from and which listening socket took it. <paramref name="Role"/> is the
/// socket's place in the RFC 5780 grid (bit 0: alternate port, bit 1: alternate address), or -1
/// for a socket outside it. <paramref name="Local"/> is the address the socket is bound to, which
/// is a wildcard for a socket bound to all interfaces.
/// </summary>
internal readonly record struct RequestContext(TransportProtocol Transport, StunAddress Source, StunAddress Local, int Role);
