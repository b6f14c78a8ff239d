using System.Net;

namespace Turn.Hosting;

internal sealed record ListenOptions
{
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [IPAddress.Any, IPAddress.IPv6Any];

    public int UdpPort { get; init; } = 3478;

    public int TcpPort { get; init; } = 3478;

    public int TlsPort { get; init; } = 5349;

    public IReadOnlyList<string> Transports { get; init; } = ["udp", "tcp", "tls"];

    /// <summary>SO_REUSEPORT sockets, each with its own receive thread, per UDP address.</summary>
    public int UdpThreads { get; init; } = 1;
}
