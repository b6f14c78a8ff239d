using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Turn.Tests.Interop;
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

    private static void AllowLoopback(JsonObject config) => config["Relay"]!["UnsafeAllowLoopbackPeers"] = true;
}
