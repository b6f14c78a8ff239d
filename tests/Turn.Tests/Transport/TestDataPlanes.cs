using Microsoft.Extensions.Logging.Abstractions;
using Turn.Relay;
using Turn.Transport;
using Turn.Transport.Linux;
using Xunit;

namespace Turn.Tests.Transport;

/// <summary>Both data planes, for tests that must hold on each: the Linux one (epoll, batched calls) and the portable one (.NET sockets).</summary>
internal static class TestDataPlanes
{
    public static TheoryData<string> Names => ["epoll", "sockets"];

    public static IDataPlane Create(string name, int threads = 1, RelayClock? clock = null)
        => name switch
        {
            "epoll" => new EpollDataPlane(threads, clock ?? RelayClock.System, NullLogger.Instance),
            "sockets" => new SocketDataPlane(threads, clock ?? RelayClock.System, NullLogger.Instance),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "epoll or sockets"),
        };
}
