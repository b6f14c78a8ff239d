using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Transport;
using Turn.Transport.Linux;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>Picks the data plane: epoll with batched system calls where it works, .NET sockets elsewhere.</summary>
internal static class DataPlanes
{
    public static IDataPlane Create(ListenOptions listen, RelayClock clock, ILogger logger)
    {
        bool epoll = listen.DataPlane switch
        {
            "epoll" => true,
            "sockets" => false,
            _ => Libc.Available(),
        };
        return epoll
            ? new EpollDataPlane(listen.EffectiveUdpThreads, clock, logger)
            : new SocketDataPlane(listen.EffectiveUdpThreads, clock, logger);
    }
}
