using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Turn.Tests.Interop;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// Slow and idle TCP clients against a running daemon: one hostile address opens many
/// connections that send half a STUN header, or trickle a byte at a time, and keeps at most its
/// share of the server; meanwhile a client from another address allocates and relays, and the
/// hostile connections are gone by the first-message deadline.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class TcpExhaustionAttackTests
{
    private const int PerAddress = 20;
    private static readonly IPAddress Hostile = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Legitimate = IPAddress.Parse("127.0.0.3");
    private static readonly IPAddress SecondListener = IPAddress.Parse("127.0.0.4");

    [Fact]
    public async Task OneAddressHoldingItsCapOfHalfHeaders_DoesNotShutOutAnother_AndLosesThemAtTheDeadline()
    {
        int port = LoopbackPorts.Take(1, IPAddress.Loopback, SecondListener)[0];
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config =>
            {
                Limits(config);
                config["Listen"] = new JsonObject
                {
                    ["Addresses"] = new JsonArray("127.0.0.1", SecondListener.ToString()),
                    ["UdpPort"] = port,
                    ["TcpPort"] = port,
                    ["Transports"] = new JsonArray("udp", "tcp"),
                };
            },
            metrics: true,
            listening: [$"tcp 127.0.0.1:{port}", $"tcp {SecondListener}:{port}"]);
        var server = new IPEndPoint(IPAddress.Loopback, port);
        var hostile = new List<Socket>();
        try
        {
            // 100 connections from one address, half to each listener, each sending half a STUN header and then nothing.
            byte[] half = new byte[10];
            half[1] = 0x01;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(half.AsSpan(4), StunHeader.MagicCookie);
            for (int i = 0; i < 100; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(Hostile, 0));
                await socket.ConnectAsync(i % 2 == 0 ? server : new IPEndPoint(SecondListener, port));
                socket.Send(half);
                hostile.Add(socket);
            }

            await Task.Delay(300);
            int held = hostile.Count(IsOpen);
            Assert.InRange(held, 1, PerAddress);
            Assert.Equal(100 - held, await daemon.MetricAsync("turn_stream_connections_total", "transport=\"tcp\",result=\"address_cap\""));

            // Another address still gets in, allocates over TCP and relays to a UDP client.
            await using TurnTestClient b = TurnTestClient.Udp(server, AttackDaemon.Bob);
            var bRelay = (await b.AllocateAsync()).Single();
            await using TurnTestClient a = await TurnTestClient.TcpAsync(server, AttackDaemon.Alice, Legitimate);
            var aRelay = (await a.AllocateAsync()).Single();
            Assert.True((await b.CreatePermissionAsync(aRelay)).IsSuccess);
            Assert.True((await a.ChannelBindAsync(0x4000, bRelay)).IsSuccess);
            await a.SendChannelDataAsync(0x4000, Encoding.ASCII.GetBytes("still served"));
            (_, _, byte[] data) = await b.ReceiveDataAsync(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException("the legitimate client's data did not arrive");
            Assert.Equal("still served", Encoding.ASCII.GetString(data));
            Assert.False(a.Closed, "the legitimate connection was closed");

            // The held half headers are closed once the first-message deadline (2 s) passes.
            var clock = Stopwatch.StartNew();
            while (hostile.Any(IsOpen) && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(100);
            }

            Assert.DoesNotContain(hostile, IsOpen);
        }
        finally
        {
            hostile.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task ATrickleOfOneByteASecond_DoesNotOutliveTheDeadline()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(Limits);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(daemon.Udp4);

        // A Binding request announcing 200 bytes of attributes, sent a byte every 250 ms.
        byte[] header = new byte[20];
        header[1] = 0x01;
        header[3] = 200;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), StunHeader.MagicCookie);
        var clock = Stopwatch.StartNew();
        for (int i = 0; IsOpen(socket) && clock.Elapsed < TimeSpan.FromSeconds(15); i++)
        {
            try
            {
                socket.Send(i < header.Length ? header.AsSpan(i, 1) : [0]);
            }
            catch (SocketException)
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.False(IsOpen(socket), "a trickle held the connection for 15 s");
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(6));
    }

    [Fact]
    public async Task AClientThatStopsReading_HoldsAtMostItsQueue_WhileLargeDatagramsArrive()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Relay"]!["UnsafeAllowLoopbackPeers"] = true, metrics: true);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await client.ConnectAsync(daemon.Udp4);
        IPEndPoint relay = await AllocateWithChannelAsync(client, (IPEndPoint)peer.LocalEndPoint!);
        long before = daemon.Rss();

        // 400 datagrams of 60 KB (24 MB) to a client that reads nothing more, paced so that the relay socket takes them all.
        byte[] datagram = new byte[60_000];
        for (int i = 0; i < 400; i++)
        {
            peer.SendTo(datagram, relay);
            await Task.Delay(2);
        }

        await Task.Delay(500);
        long grown = daemon.Rss() - before;
        double dropped = await daemon.MetricAsync("turn_dropped_packets_total", "reason=\"send_failed\"");
        Assert.True(dropped >= 100, $"only {dropped} datagrams dropped for the stalled client");
        Assert.True(grown < 40 << 20, $"the daemon grew by {grown >> 20} MiB for one stalled client");
    }

    /// <summary>Allocate and ChannelBind 0x4000 over a raw TCP socket (the test client would read what the test must leave unread).</summary>
    private static async Task<IPEndPoint> AllocateWithChannelAsync(Socket socket, IPEndPoint peer)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        byte[] unsigned = Server.TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, Server.TurnMessages.TransactionId(), Server.TurnMessages.RequestedTransportUdp);
        Server.TurnChallenge challenge = (await ExchangeAsync(stream, unsigned)).Challenge;
        Server.TurnReply allocated = await ExchangeAsync(stream, Server.TurnMessages.Signed(StunMethod.Allocate, Server.TurnMessages.TransactionId(), Server.TurnMessages.RequestedTransportUdp, AttackDaemon.Alice, challenge));
        Assert.True(allocated.IsSuccess, allocated.ToString());
        Server.TurnReply bound = await ExchangeAsync(stream, Server.TurnMessages.Signed(StunMethod.ChannelBind, Server.TurnMessages.TransactionId(), (ref StunWriter w) =>
        {
            w.AddUInt16Reserved(StunAttributeType.ChannelNumber, 0x4000);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, PeerEncodings.Of(peer));
        }, AttackDaemon.Alice, challenge));
        Assert.True(bound.IsSuccess, bound.ToString());
        return allocated.XorAddress(StunAttributeType.XorRelayedAddress).ToIPEndPoint();
    }

    private static async Task<Server.TurnReply> ExchangeAsync(Stream stream, byte[] request)
    {
        await stream.WriteAsync(request);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        byte[] header = new byte[20];
        await stream.ReadExactlyAsync(header, timeout.Token);
        byte[] message = new byte[20 + ((header[2] << 8) | header[3])];
        header.CopyTo(message, 0);
        await stream.ReadExactlyAsync(message.AsMemory(20), timeout.Token);
        return new Server.TurnReply(message);
    }

    /// <summary>VmRSS of a process, in bytes.</summary>

    private static void Limits(JsonObject config)
        => config["Tcp"] = new JsonObject
        {
            ["MaxConnections"] = 200,
            ["MaxConnectionsPerAddress"] = PerAddress,
            ["FirstMessageSeconds"] = 2,
            ["IdleTimeoutSeconds"] = 3,
        };

    /// <summary>Open while the server has neither closed nor reset it.</summary>
    private static bool IsOpen(Socket socket)
    {
        try
        {
            return !(socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }
}
