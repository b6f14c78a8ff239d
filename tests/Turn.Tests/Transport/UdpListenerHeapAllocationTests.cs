using System.Net.Sockets;
using System.Net;
using Turn.Relay;
using Turn.Server;
using Turn.Transport;
using Xunit;

namespace Turn.Tests.Transport;

[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>Runs alone, so that timing of other tests does not disturb the packet flow it measures.</summary>
[Collection(nameof(RunsAlone))]
public sealed class UdpListenerHeapAllocationTests
{
    [Theory]
    [MemberData(nameof(TestDataPlanes.Names), MemberType = typeof(TestDataPlanes))]
    public async Task ReceiveLoop_AnsweringBindingRequests_AllocatesNothingPerPacket(string dataPlane)
    {
        const int Warmup = 2000;
        const int Measured = 20_000;
        using var metrics = new TurnMetrics();

        // As in the daemon, the metrics are exported while traffic flows: each request's handling
        // time goes through the exporter's listener on this same thread.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        using var exporter = new Turn.Hosting.PrometheusBridge(registry, m => m.Name.StartsWith(TurnMetrics.MeterName, StringComparison.Ordinal));
        using IDataPlane listener = TestDataPlanes.Create(dataPlane);
        IUdpEndpoint endpoint = listener.BindUdp(new ListenEndpoint(TransportProtocol.Udp, new IPEndPoint(IPAddress.Loopback, 0), -1));
        listener.Start(new PacketPath(new StunRequestHandler(new StunServerSettings("turn", null)), metrics));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000 };
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var server = endpoint.LocalEndPoint.Serialize();
        var from = new SocketAddress(AddressFamily.InterNetwork);
        byte[] request = StunClientSocket.BindingRequest();
        byte[] response = new byte[2048];

        void Exchange(int count)
        {
            for (int i = 0; i < count; i++)
            {
                client.SendTo(request, SocketFlags.None, server);
                client.ReceiveFrom(response, SocketFlags.None, from);
            }
        }

        // Steady state: tiered compilation with PGO allocates a few bytes on the calling thread
        // while it instruments and promotes methods, in steps a little apart; wait until five
        // batches in a row, with pauses for the background compiler, cost nothing.
        for (int batch = 0, quiet = 0; batch < 60 && quiet < 5; batch++)
        {
            long start = listener.AllocatedBytes;
            Exchange(Warmup);
            quiet = listener.AllocatedBytes == start ? quiet + 1 : 0;
            Thread.Sleep(150);
        }

        long before = listener.AllocatedBytes;
        Exchange(Measured);

        // The receive thread records its own allocation count after every packet.
        Assert.Equal(0, listener.AllocatedBytes - before);
        Assert.True(listener.Packets >= Warmup + Measured);
        using var scrape = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(scrape);
        string text = System.Text.Encoding.UTF8.GetString(scrape.ToArray());
        Assert.Contains("turn_request_duration_seconds_count{method=\"binding\"}", text, StringComparison.Ordinal);
        Assert.Contains("turn_binding_requests_total{transport=\"udp\"}", text, StringComparison.Ordinal);
    }
}
