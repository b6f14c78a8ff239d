using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Turn.Tests.Interop;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// Peer datagrams of every size reach the client whole, over UDP and TCP, as ChannelData and as
/// Data indications, up to the largest frame the client's transport can carry; one larger than
/// that is dropped and counted as too_big, never cut.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class LargeDatagramTests
{
    public static TheoryData<string, int> Sizes => new()
    {
        { "udp", 4045 },
        { "udp", 9000 },
        { "udp", 65_000 },
        { "tcp", 4045 },
        { "tcp", 30_000 },
        { "tcp", 65_507 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task PeerDatagram_ReachesTheClientWhole_OverAChannelAndAsADataIndication(string transport, int size)
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(AllowLoopback);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var channelPeer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        channelPeer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using TurnTestClient client = transport == "tcp"
            ? await TurnTestClient.TcpAsync(daemon.Udp4, AttackDaemon.Alice)
            : TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        IPEndPoint relay = (await client.AllocateAsync()).Single().ToIPEndPoint();
        Assert.True((await client.ChannelBindAsync(0x4001, PeerEncodings.Of((IPEndPoint)channelPeer.LocalEndPoint!))).IsSuccess);
        Assert.True((await client.CreatePermissionAsync(PeerEncodings.Of((IPEndPoint)peer.LocalEndPoint!))).IsSuccess);
        byte[] overChannel = RandomNumberGenerator.GetBytes(size);
        byte[] asIndication = RandomNumberGenerator.GetBytes(size - 100);

        channelPeer.SendTo(overChannel, relay);
        peer.SendTo(asIndication, relay);

        var received = new List<(ushort Channel, byte[] Data)>();
        for (int i = 0; i < 2; i++)
        {
            (_, ushort channel, byte[] data) = await client.ReceiveDataAsync(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException($"{received.Count} of 2 datagrams arrived");
            received.Add((channel, data));
        }

        Assert.Equal(overChannel, received.Single(r => r.Channel == 0x4001).Data);
        Assert.Equal(asIndication, received.Single(r => r.Channel == 0).Data);
    }

    [Fact]
    public async Task ClientData_OfSixtyKilobytes_ReachesThePeerWhole()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(AllowLoopback);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using TurnTestClient client = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        await client.AllocateAsync();
        Assert.True((await client.ChannelBindAsync(0x4001, PeerEncodings.Of((IPEndPoint)peer.LocalEndPoint!))).IsSuccess);
        byte[] data = RandomNumberGenerator.GetBytes(60_000);

        await client.SendChannelDataAsync(0x4001, data);

        byte[] buffer = new byte[65536];
        int length = peer.Receive(buffer);
        Assert.Equal(data, buffer[..length]);
    }

    [Fact]
    public async Task PeerDatagram_TooLargeForAUdpClientsDataIndication_IsDroppedAndCounted_NeverCut()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(AllowLoopback, metrics: true);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using TurnTestClient client = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        IPEndPoint relay = (await client.AllocateAsync()).Single().ToIPEndPoint();
        Assert.True((await client.CreatePermissionAsync(PeerEncodings.Of((IPEndPoint)peer.LocalEndPoint!))).IsSuccess);

        // 65,500 bytes in a Data indication make a 65,536-byte datagram: more than UDP over IPv4 carries.
        peer.SendTo(new byte[65_500], relay);
        peer.SendTo(new byte[100], relay);

        (_, _, byte[] first) = await client.ReceiveDataAsync(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException("the small datagram did not arrive");
        Assert.Equal(100, first.Length);
        Assert.Null(await client.ReceiveDataAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(1, await daemon.MetricAsync("turn_dropped_packets_total", "reason=\"too_big\""));
    }

    [Fact]
    public async Task TcpClient_FramesOfSeveralReadsInOneWrite_ReachThePeerUnchanged()
    {
        // A TCP client's ChannelData is relayed from where it was read; a burst longer than one
        // read must not have a later read overwrite datagrams that have not left yet.
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(AllowLoopback);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using TurnTestClient client = await TurnTestClient.TcpAsync(daemon.Udp4, AttackDaemon.Alice);
        await client.AllocateAsync();
        Assert.True((await client.ChannelBindAsync(0x4001, PeerEncodings.Of((IPEndPoint)peer.LocalEndPoint!))).IsSuccess);
        const int Frames = 1000;
        const int Size = 1200;
        var burst = new List<byte>();
        for (int i = 0; i < Frames; i++)
        {
            burst.AddRange(TurnMessages.ChannelData(0x4001, Payload(i, Size)));
        }

        int intact = 0;
        int damaged = 0;
        for (int round = 0; round < 3; round++)
        {
            await client.SendRawAsync([.. burst]);
            byte[] buffer = new byte[65536];
            using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            int seen = 0;
            try
            {
                while (seen < Frames)
                {
                    int length = await peer.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
                    seen++;
                    bool whole = length == Size && Payload(BitConverter.ToInt32(buffer, 0), Size).AsSpan().SequenceEqual(buffer.AsSpan(0, length));
                    intact += whole ? 1 : 0;
                    damaged += whole ? 0 : 1;
                }
            }
            catch (OperationCanceledException)
            {
                // Loopback may drop a few datagrams of a burst; only damaged ones fail the test.
            }
        }

        Assert.Equal(0, damaged);
        Assert.True(intact >= Frames, $"{intact} of {3 * Frames} datagrams arrived");
    }

    [Fact]
    public async Task UdpClient_BurstsOfEqualSizedDatagrams_ArriveUnchangedBothWays()
    {
        // Runs of equal datagrams to one destination leave as one UDP GSO send, which the kernel
        // cuts apart again: every datagram must come out as it went in, in both directions.
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(AllowLoopback);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20 };
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using TurnTestClient client = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        IPEndPoint relay = (await client.AllocateAsync()).Single().ToIPEndPoint();
        Assert.True((await client.ChannelBindAsync(0x4001, PeerEncodings.Of((IPEndPoint)peer.LocalEndPoint!))).IsSuccess);
        const int Count = 48;
        const int Size = 500;

        for (int i = 0; i < Count; i++)
        {
            peer.SendTo(Payload(i, Size), relay);
        }

        int toClient = 0;
        while (await client.ReceiveDataAsync(TimeSpan.FromSeconds(2)) is (_, ushort channel, byte[] data))
        {
            Assert.Equal(0x4001, channel);
            Assert.Equal(Payload(BitConverter.ToInt32(data, 0), Size), data);
            toClient++;
        }

        byte[][] burst = [.. Enumerable.Range(0, Count).Select(i => TurnMessages.ChannelData(0x4001, Payload(1000 + i, Size)))];
        await Task.WhenAll(burst.Select(client.SendRawAsync));
        int toPeer = 0;
        byte[] buffer = new byte[65536];
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            while (toPeer < Count)
            {
                int length = await peer.ReceiveAsync(buffer, SocketFlags.None, quiet.Token);
                Assert.Equal(Payload(BitConverter.ToInt32(buffer, 0), Size), buffer[..length]);
                toPeer++;
            }
        }
        catch (OperationCanceledException)
        {
        }

        Assert.True(toClient >= Count / 2 && toPeer >= Count / 2, $"{toClient} and {toPeer} of {Count} datagrams arrived");
    }

    /// <summary>Payload number <paramref name="index"/>: the index, then bytes that depend on it.</summary>
    private static byte[] Payload(int index, int size)
    {
        byte[] payload = new byte[size];
        BitConverter.TryWriteBytes(payload, index);
        for (int j = 4; j < size; j++)
        {
            payload[j] = (byte)((index * 31) + j);
        }

        return payload;
    }

    private static void AllowLoopback(JsonObject config) => config["Relay"]!["UnsafeAllowLoopbackPeers"] = true;
}
