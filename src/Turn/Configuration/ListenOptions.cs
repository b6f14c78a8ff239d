using System.Net;

namespace Turn.Configuration;

internal sealed record ListenOptions
{
    public IReadOnlyList<IPAddress> Addresses { get; init; } = [IPAddress.Any, IPAddress.IPv6Any];

    public int UdpPort { get; init; } = 3478;

    public int TcpPort { get; init; } = 3478;

    public int TlsPort { get; init; } = 5349;

    public IReadOnlyList<string> Transports { get; init; } = ["udp", "tcp", "tls"];

    /// <summary>
    /// Data-plane threads: each reads one SO_REUSEPORT socket of every UDP address and its share
    /// of the relay sockets. 0: one per core.
    /// </summary>
    public int UdpThreads { get; init; }

    /// <summary>"auto" (epoll with batched system calls on Linux, .NET sockets elsewhere), "epoll" or "sockets".</summary>
    public string DataPlane { get; init; } = "auto";

    /// <summary>The thread count <see cref="UdpThreads"/> asks for.</summary>
    public int EffectiveUdpThreads => UdpThreads > 0 ? UdpThreads : Math.Clamp(Environment.ProcessorCount, 1, 64);
}
