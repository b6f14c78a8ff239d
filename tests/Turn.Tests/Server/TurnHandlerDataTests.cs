using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>RFC 8656 §11-§12: Send indications and ChannelData from the client, and the expiries that stop them.</summary>
public sealed class TurnHandlerDataTests
{
    private const ushort Channel = TurnTestHarness.Channel;
    private static readonly byte[] Payload = [0xDE, 0xAD, 0xBE, 0xEF, 0x01];

    [Fact]
    public void SendIndication_WithoutPermission_IsDropped()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        Outcome outcome = server.SendIndication(TurnTestHarness.PublicPeer, Payload);

        Assert.Equal(Outcome.DroppedNoPermission, outcome);
        Assert.Empty(server.SentToPeers());
    }

    [Fact]
    public void SendIndication_WithPermission_IsRelayedToThePeer()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);

        Outcome outcome = server.SendIndication(TurnTestHarness.PublicPeer, Payload);

        Assert.Equal(Outcome.Relayed, outcome);
        (byte[] data, StunAddress peer) = Assert.Single(Assert.Single(server.Ports.Opened).Sent);
        Assert.Equal(Payload, data);
        Assert.Equal(TurnTestHarness.PublicPeer, peer);
    }

    [Fact]
    public void SendIndication_WithTwoPeerAddresses_IsDroppedAsMalformed()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);
        byte[] indication = TurnMessages.Unsigned(StunMethod.Send, StunClass.Indication, TurnMessages.TransactionId(), (ref StunWriter w) =>
        {
            w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.PublicPeer);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.At("127.0.0.1", 22));
            w.AddBytes(StunAttributeType.Data, Payload);
        });

        (HandleResult result, _) = server.Exchange(indication);

        Assert.Equal(Outcome.DroppedMalformed, result.Outcome);
        Assert.Empty(server.SentToPeers());
    }

    [Fact]
    public void SendIndication_WithoutAllocation_IsDropped()
    {
        var server = new TurnTestHarness();

        Assert.Equal(Outcome.DroppedNoAllocation, server.SendIndication(TurnTestHarness.PublicPeer, Payload));
    }

    [Fact]
    public void SendIndication_WithoutData_IsDroppedAsMalformed()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);
        byte[] indication = TurnMessages.Unsigned(StunMethod.Send, StunClass.Indication, TurnMessages.TransactionId(), (ref StunWriter w) => w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.PublicPeer));

        (HandleResult result, TurnReply? reply) = server.Exchange(indication);

        Assert.Equal(Outcome.DroppedMalformed, result.Outcome);
        Assert.Null(reply);
        Assert.Empty(server.SentToPeers());
    }

    [Fact]
    public void SendIndication_WithUnknownComprehensionRequiredAttribute_IsDiscarded()
    {
        // RFC 8489 §6.3.2: an indication with an unknown comprehension-required attribute is
        // discarded and processing ceases.
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);
        byte[] indication = TurnMessages.Unsigned(StunMethod.Send, StunClass.Indication, TurnMessages.TransactionId(), (ref StunWriter w) =>
        {
            w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.PublicPeer);
            w.AddBytes(StunAttributeType.Data, Payload);
            w.AddUInt32((StunAttributeType)0x7F01, 1);
        });

        (HandleResult result, TurnReply? reply) = server.Exchange(indication);

        Assert.Null(reply);
        Assert.True(
            result.Outcome != Outcome.Relayed && server.SentToPeers().Count == 0,
            $"RFC 8489 §6.3.2: a Send indication carrying unknown comprehension-required attribute 0x7F01 must be discarded, but it was {result.Outcome} and {server.SentToPeers().Count} datagram(s) left the relay");
    }

    [Fact]
    public void SendIndication_ToIpv6Peer_LeavesTheIpv6RelayOfADualAllocation()
    {
        var server = new TurnTestHarness(ipv6: true);
        server.AllocateDualOk();
        server.CreatePermission(TurnTestHarness.PublicPeer6);

        Outcome outcome = server.SendIndication(TurnTestHarness.PublicPeer6, Payload);

        Assert.Equal(Outcome.Relayed, outcome);
        Allocation allocation = server.AllocationOf();
        Assert.Empty(((TurnFakeRelayEndpoint)allocation.Relay4!).Sent);
        Assert.Equal(TurnTestHarness.PublicPeer6, Assert.Single(((TurnFakeRelayEndpoint)allocation.Relay6!).Sent).Peer);
    }

    [Fact]
    public void SendIndication_WhenTheRelaySocketFails_IsCountedAsSendFailed()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);
        server.Ports.Opened[0].SendSucceeds = false;

        Assert.Equal(Outcome.DroppedSendFailed, server.SendIndication(TurnTestHarness.PublicPeer, Payload));
        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void SendIndication_OverTheBandwidthCap_IsDroppedUntilTheBudgetRefills()
    {
        var server = new TurnTestHarness(new RelayLimits { BandwidthBytesPerSecond = 1000 });
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);

        Outcome first = server.SendIndication(TurnTestHarness.PublicPeer, new byte[800]);
        Outcome second = server.SendIndication(TurnTestHarness.PublicPeer, new byte[800]);
        server.Advance(1);
        Outcome third = server.SendIndication(TurnTestHarness.PublicPeer, new byte[800]);

        Assert.Equal(Outcome.Relayed, first);
        Assert.Equal(Outcome.DroppedQuota, second);
        Assert.Equal(Outcome.Relayed, third);
    }

    [Fact]
    public void ChannelData_OnBoundChannel_IsSentToThePeer()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        Outcome outcome = server.ChannelData(Channel, Payload);

        Assert.Equal(Outcome.Relayed, outcome);
        (byte[] data, StunAddress peer) = Assert.Single(server.SentToPeers());
        Assert.Equal(Payload, data);
        Assert.Equal(TurnTestHarness.PublicPeer, peer);
    }

    [Fact]
    public void ChannelData_OnUnboundChannel_IsDropped()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        Outcome outcome = server.ChannelData(Channel + 1, Payload);

        Assert.Equal(Outcome.DroppedNoPermission, outcome);
        Assert.Empty(server.SentToPeers());
    }

    [Fact]
    public void ChannelData_WithoutAllocation_IsDropped()
    {
        var server = new TurnTestHarness();

        Assert.Equal(Outcome.DroppedNoAllocation, server.ChannelData(Channel, Payload));
    }

    [Fact]
    public void ChannelData_FromAnotherFiveTuple_IsDropped()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        Assert.Equal(Outcome.DroppedNoAllocation, server.ChannelData(Channel, Payload, server.Client.WithPort(40001)));
    }

    [Fact]
    public void ChannelData_WithLengthBeyondThePacket_IsDroppedAsMalformed()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);
        byte[] packet = TurnMessages.ChannelData(Channel, Payload)[..^1];

        HandleResult result = server.Handler.ChannelData(packet, server.Context());

        Assert.Equal(Outcome.DroppedMalformed, result.Outcome);
    }

    [Fact]
    public void Permission_JustBeforeExpiry_StillLetsDataThrough()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);
        server.Advance(299);
        server.Sweep();

        Assert.Equal(Outcome.Relayed, server.ChannelData(Channel, Payload));
        Assert.Equal(Outcome.Relayed, server.SendIndication(TurnTestHarness.PublicPeer, Payload));
    }

    [Fact]
    public void ChannelData_AfterPermissionExpiry_IsDropped()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);
        server.Advance(301);

        server.Sweep();

        Assert.Equal(Outcome.DroppedNoPermission, server.ChannelData(Channel, Payload));
        Assert.Equal(Outcome.DroppedNoPermission, server.SendIndication(TurnTestHarness.PublicPeer, Payload));
        Assert.Empty(server.SentToPeers());
    }

    [Fact]
    public void SendIndication_AfterPermissionExpiryWithoutSweep_IsDropped()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.CreatePermission(TurnTestHarness.PublicPeer);
        server.Advance(300);

        Assert.Equal(Outcome.DroppedNoPermission, server.SendIndication(TurnTestHarness.PublicPeer, Payload));
    }

    [Fact]
    public void Allocation_AfterItsLifetime_IsRemovedByTheSweeperAndItsRelayClosed()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);
        server.Advance(599);
        Assert.Equal(0, server.Sweep());
        Assert.False(server.Ports.Opened[0].Disposed);
        server.Advance(2);

        int expired = server.Sweep();

        Assert.Equal(1, expired);
        Assert.Equal(0, server.Allocations.Count);
        Assert.True(server.Ports.Opened[0].Disposed, "the relay socket must be closed");
        Assert.True(server.Transport.Attached[0].IsClosed);
        Assert.Equal(Outcome.DroppedNoAllocation, server.ChannelData(Channel, Payload));
        TurnAssert.Error(437, server.Refresh(600));
    }

    [Fact]
    public void Allocation_AfterExpiry_FreesTheUsersQuota()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxAllocationsPerUser = 1 });
        server.AllocateOk();
        server.Advance(601);
        server.Sweep();

        TurnReply reply = server.Allocate(source: server.Client.WithPort(40001));

        TurnAssert.Success(reply);
    }
}
