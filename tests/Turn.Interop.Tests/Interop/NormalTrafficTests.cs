using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Turn.Tests.Attack;
using Turn.Tests.Server;
using Turn.Tests.Signal;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// Ordinary traffic throws nothing: allocations over UDP and TCP made and ended, ChannelData and
/// Send/Data indications both ways, signaling peers joining, talking and leaving. The daemon
/// counts every exception thrown in it (turn_process_exceptions_total); the count must not move.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class NormalTrafficTests
{
    private const int Rounds = 10;

    [Fact]
    public async Task RelayAndSignalingChurn_ThrowNoException()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config =>
            {
                config["Relay"]!["UnsafeAllowLoopbackPeers"] = true;
                config["Signal"] = new JsonObject { ["JoinsPerSecond"] = 0 };
            },
            http: true);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        StunAddress peerAddress = PeerEncodings.Of((IPEndPoint)peer.LocalEndPoint!);

        // One round first, so that start-up and first use are behind the baseline.
        await RelayRoundAsync(daemon, peer, peerAddress, tcp: false);
        double before = await daemon.MetricSumAsync("turn_process_exceptions_total");

        for (int round = 0; round < Rounds; round++)
        {
            await RelayRoundAsync(daemon, peer, peerAddress, tcp: round % 2 == 1);
            await SignalRoundAsync(daemon, round);
        }

        double after = await daemon.MetricSumAsync("turn_process_exceptions_total");
        Assert.True(after == before, $"{after - before} exception(s) thrown during ordinary traffic\n{daemon.Process.Describe()}");
        Assert.Equal(0, await daemon.MetricSumAsync("turn_allocations"));
    }

    /// <summary>Allocate, bind a channel, relay both ways as ChannelData and as indications, then end the allocation.</summary>
    private static async Task RelayRoundAsync(AttackDaemon daemon, Socket peer, StunAddress peerAddress, bool tcp)
    {
        await using TurnTestClient client = tcp
            ? await TurnTestClient.TcpAsync(daemon.Udp4, AttackDaemon.Alice)
            : TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        IPEndPoint relay = (await client.AllocateAsync()).Single().ToIPEndPoint();
        Assert.True((await client.ChannelBindAsync(0x4000, peerAddress)).IsSuccess);
        byte[] buffer = new byte[2048];
        for (int i = 0; i < 20; i++)
        {
            byte[] data = [(byte)i, 1, 2, 3, 4, 5, 6, 7];
            if (i % 2 == 0)
            {
                await client.SendChannelDataAsync(0x4000, data);
            }
            else
            {
                await client.SendIndicationAsync(peerAddress, data);
            }

            int length = peer.Receive(buffer);
            Assert.Equal(data, buffer[..length]);
            peer.SendTo(data, relay);
            (_, _, byte[] back) = await client.ReceiveDataAsync(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException("no data from the relay");
            Assert.Equal(data, back);
        }

        // RFC 8656 §7.3: a Refresh with LIFETIME 0 ends the allocation; a TCP one also ends with its connection.
        TurnReply ended = await client.RequestAsync(StunMethod.Refresh, (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 0));
        Assert.True(ended.IsSuccess, ended.ToString());
    }

    /// <summary>Three peers join a room, send each other an offer, and leave.</summary>
    private static async Task SignalRoundAsync(AttackDaemon daemon, int round)
    {
        var peers = new List<SignalTestClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);
                peers.Add(client);
                await client.JoinAsync($"churn-{round}");
            }

            foreach (SignalTestClient from in peers)
            {
                var offer = new JsonObject { ["type"] = "offer", ["to"] = peers[(peers.IndexOf(from) + 1) % peers.Count].Id, ["data"] = new JsonObject { ["type"] = "offer", ["sdp"] = "v=0" } };
                await from.SendAsync(offer.ToJsonString());
            }

            foreach (SignalTestClient to in peers)
            {
                await to.NextOfTypeAsync("offer");
            }

            foreach (SignalTestClient client in peers)
            {
                await client.CloseAsync();
            }
        }
        finally
        {
            foreach (SignalTestClient client in peers)
            {
                await client.DisposeAsync();
            }
        }
    }
}
