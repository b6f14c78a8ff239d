using System.Net;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport;

/// <summary>One socket address to listen on, with its RFC 5780 role (-1 when outside the grid).</summary>
internal sealed record ListenEndpoint(TransportProtocol Protocol, IPEndPoint EndPoint, int Role);
