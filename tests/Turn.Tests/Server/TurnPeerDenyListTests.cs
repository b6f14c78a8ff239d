using System.Net;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>
/// The peer deny list through the protocol (RFC 8656 §21.3, answered with 403 as §9.2 and §12.2
/// allow): every encoding of an internal address is refused by CreatePermission and ChannelBind,
/// and a Send indication to it is dropped, on a dual allocation so that the refusal is the
/// policy's and never a 443. The filter is the production one of a server listening on
/// 192.0.2.10:3478 and relaying from 192.0.2.10 on 49152-65535, loopback not allowed. The fake
/// relay endpoints record instead of sending, so no address here is ever contacted.
/// </summary>
public sealed class TurnPeerDenyListTests
{
    public static TheoryData<string> DeniedPeers => new()
    {
        "127.0.0.1:5000",
        "0.0.0.0:5000",
        "[::]:5000",
        "[::1]:5000",
        "[::ffff:127.0.0.1]:5000",
        "[::127.0.0.1]:5000",
        "[2002:7f00:1::]:5000",
        "[64:ff9b::7f00:1]:5000",
        "10.0.0.1:5000",
        "169.254.169.254:80",
        "[::ffff:169.254.169.254]:80",
        "[fe80::1]:5000",
        "[fc00::1]:5000",
        "192.0.2.10:3478",
        "192.0.2.10:22",
        "203.0.113.5:5000",
        "[::ffff:10.0.0.1]:5000",
        "8.8.8.8:0",
        "192.0.2.10:50000",
        "[::ffff:192.0.2.10]:50000",
    };

    public static TheoryData<string> AllowedPeers => new()
    {
        "8.8.8.8:5000",
        "[2606:4700::1111]:5000",
    };

    [Theory]
    [MemberData(nameof(DeniedPeers))]
    public void CreatePermission_ForDeniedPeer_Returns403(string endpoint)
    {
        TurnTestHarness server = DualAllocation();

        TurnReply reply = server.CreatePermission(Peer(endpoint));

        TurnAssert.Error(403, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.False(server.AllocationOf().HasPermission(Peer(endpoint), server.NowMs));
    }

    [Theory]
    [MemberData(nameof(DeniedPeers))]
    public void CreatePermission_WithDeniedPeerAmongAllowedOnes_Returns403AndInstallsNone(string endpoint)
    {
        TurnTestHarness server = DualAllocation();

        TurnReply reply = server.CreatePermission(TurnTestHarness.PublicPeer, Peer(endpoint));

        TurnAssert.Error(403, reply);
        Assert.False(server.AllocationOf().HasPermission(TurnTestHarness.PublicPeer, server.NowMs));
    }

    [Theory]
    [MemberData(nameof(DeniedPeers))]
    public void ChannelBind_ToDeniedPeer_Returns403(string endpoint)
    {
        TurnTestHarness server = DualAllocation();

        TurnReply reply = server.ChannelBind(TurnTestHarness.Channel, Peer(endpoint));

        TurnAssert.Error(403, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(Outcome.DroppedNoPermission, server.ChannelData(TurnTestHarness.Channel, [1]));
    }

    [Theory]
    [MemberData(nameof(DeniedPeers))]
    public void SendIndication_ToDeniedPeer_IsDroppedAsDenied(string endpoint)
    {
        TurnTestHarness server = DualAllocation();

        Outcome outcome = server.SendIndication(Peer(endpoint), [1, 2, 3]);

        Assert.Equal(Outcome.DroppedDeniedPeer, outcome);
        Assert.Empty(server.SentToPeers());
    }

    [Theory]
    [MemberData(nameof(AllowedPeers))]
    public void PublicPeer_IsAllowedThroughEveryRequest(string endpoint)
    {
        TurnTestHarness server = DualAllocation();
        StunAddress peer = Peer(endpoint);

        TurnReply permission = server.CreatePermission(peer);
        TurnReply bind = server.ChannelBind(TurnTestHarness.Channel, peer);
        Outcome sent = server.SendIndication(peer, [1, 2, 3]);
        Outcome channelData = server.ChannelData(TurnTestHarness.Channel, [4, 5]);

        TurnAssert.Success(permission);
        TurnAssert.Success(bind);
        Assert.Equal(Outcome.Relayed, sent);
        Assert.Equal(Outcome.Relayed, channelData);
        Assert.Equal(new[] { peer, peer }, server.SentToPeers().ConvertAll(s => s.Peer));
    }

    [Fact]
    public void AnotherAllocationsRelayedAddress_IsAllowedWhileThatAllocationLives()
    {
        // Two clients of the same server may talk through it: the own relay address passes the
        // policy on a port that is another allocation's relayed transport address, and only then.
        TurnTestHarness server = DualAllocation();
        StunAddress other = server.AllocateOk(TurnTestHarness.Bob, source: server.Client.WithPort(40001)).XorAddress(StunAttributeType.XorRelayedAddress);
        Assert.Equal(IPAddress.Parse("192.0.2.10"), other.ToIPAddress());

        TurnAssert.Success(server.CreatePermission(other));
        TurnAssert.Success(server.ChannelBind(TurnTestHarness.Channel, other));
        Assert.Equal(Outcome.Relayed, server.SendIndication(other, [1]));
        TurnAssert.Success(server.Refresh(0, TurnTestHarness.Bob, source: server.Client.WithPort(40001)));

        Assert.Equal(Outcome.DroppedDeniedPeer, server.SendIndication(other, [2]));
        Assert.Equal(Outcome.DroppedDeniedPeer, server.ChannelData(TurnTestHarness.Channel, [3]));
        TurnAssert.Error(403, server.CreatePermission(other));
    }

    [Fact]
    public void SendIndication_ToLoopbackWithTheTestOnlySwitch_IsRelayed()
    {
        var server = new TurnTestHarness(ipv6: true, peers: TurnTestHarness.ProductionPeerFilter(allowLoopback: true));
        server.AllocateDualOk();
        StunAddress loopback = Peer("127.0.0.1:5000");

        TurnAssert.Success(server.CreatePermission(loopback));

        Assert.Equal(Outcome.Relayed, server.SendIndication(loopback, [1]));
        TurnAssert.Error(403, server.CreatePermission(Peer("10.0.0.1:5000")));
    }

    private static TurnTestHarness DualAllocation()
    {
        var server = new TurnTestHarness(ipv6: true);
        server.AllocateDualOk();
        return server;
    }

    private static StunAddress Peer(string endpoint) => StunAddress.FromIPEndPoint(IPEndPoint.Parse(endpoint));
}
