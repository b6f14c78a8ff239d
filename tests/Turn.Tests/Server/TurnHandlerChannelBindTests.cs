using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>RFC 8656 §12: ChannelBind, the binding's lifetime and the five-minute cool-down.</summary>
public sealed class TurnHandlerChannelBindTests
{
    private const ushort Channel = TurnTestHarness.Channel;

    [Theory]
    [InlineData(0x0000)]
    [InlineData(0x3FFF)]
    [InlineData(0x8000)]
    [InlineData(0xFFFF)]
    public void ChannelBind_ChannelOutOfRange_Returns400(int channel)
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.ChannelBind((ushort)channel, TurnTestHarness.PublicPeer);

        TurnAssert.Error(400, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.False(server.AllocationOf().HasPermission(TurnTestHarness.PublicPeer, server.NowMs));
    }

    [Theory]
    [InlineData(0x4000)]
    [InlineData(0x4FFF)]
    public void ChannelBind_ChannelInRfc8656Range_Succeeds(int channel)
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.ChannelBind((ushort)channel, TurnTestHarness.PublicPeer);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
    }

    [Fact]
    public void ChannelBind_ChannelAbove0x4FFF_IsAcceptedAsRfc5766Allowed()
    {
        // A deliberate choice (TurnAttributes.MaxChannel): RFC 8656 §12 narrowed the range to
        // 0x4000-0x4FFF, RFC 5766 §11 allowed up to 0x7FFF, and coturn's clients still use it.
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.ChannelBind(0x7FFF, TurnTestHarness.PublicPeer);

        TurnAssert.Success(reply);
    }

    [Fact]
    public void ChannelBind_WithoutChannelNumber_Returns400()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Call(StunMethod.ChannelBind, (ref StunWriter w) => w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.PublicPeer));

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void ChannelBind_WithoutPeerAddress_Returns400()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Call(StunMethod.ChannelBind, (ref StunWriter w) => w.AddUInt16Reserved(StunAttributeType.ChannelNumber, Channel));

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void ChannelBind_WithTwoPeerAddresses_Returns400AndBindsNothing()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Call(StunMethod.ChannelBind, (ref StunWriter w) =>
        {
            w.AddUInt16Reserved(StunAttributeType.ChannelNumber, Channel);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.PublicPeer);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.At("127.0.0.1", 22));
        });

        TurnAssert.Error(400, reply);
        Assert.False(server.AllocationOf().HasPermission(TurnTestHarness.PublicPeer, server.NowMs));
    }

    [Fact]
    public void ChannelBind_WithoutAllocation_Returns437()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        TurnAssert.Error(437, reply);
    }

    [Fact]
    public void ChannelBind_WithOtherUsersCredentials_Returns441()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.PublicPeer, TurnTestHarness.Bob);

        TurnAssert.Error(441, reply);
    }

    [Fact]
    public void ChannelBind_Ipv6PeerOnIpv4Allocation_Returns443()
    {
        var server = new TurnTestHarness(ipv6: true);
        server.AllocateOk();

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.PublicPeer6);

        TurnAssert.Error(443, reply);
    }

    [Fact]
    public void ChannelBind_ChannelAlreadyBoundToAnotherPeer_Returns400()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        TurnAssert.Success(server.ChannelBind(Channel, TurnTestHarness.PublicPeer));

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.OtherPublicPeer);

        TurnAssert.Error(400, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.False(server.AllocationOf().HasPermission(TurnTestHarness.OtherPublicPeer, server.NowMs));
    }

    [Fact]
    public void ChannelBind_ChannelAlreadyBoundToAnotherPortOfThePeer_Returns400()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.PublicPeer.WithPort(5001));

        TurnAssert.Error(400, reply);
    }

    [Fact]
    public void ChannelBind_PeerAlreadyBoundToAnotherChannel_Returns400()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        TurnAssert.Success(server.ChannelBind(Channel, TurnTestHarness.PublicPeer));

        TurnReply reply = server.ChannelBind(Channel + 1, TurnTestHarness.PublicPeer);

        TurnAssert.Error(400, reply);
        Assert.Equal(Outcome.DroppedNoPermission, server.ChannelData(Channel + 1, [1]));
    }

    [Fact]
    public void ChannelBind_SameChannelSamePeer_RefreshesTheBinding()
    {
        var server = new TurnTestHarness();
        server.AllocateOk(extra: (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 3600));
        TurnAssert.Success(server.ChannelBind(Channel, TurnTestHarness.PublicPeer));
        server.Advance(290);

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.PublicPeer);
        server.Advance(290);
        server.Sweep();

        TurnAssert.Success(reply);
        Assert.Equal(Outcome.Relayed, server.ChannelData(Channel, [1, 2]));
    }

    [Fact]
    public void ChannelBind_InstallsAPermissionForThePeer()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        Assert.Equal(Outcome.Relayed, server.SendIndication(TurnTestHarness.PublicPeer, [1]));
    }

    [Fact]
    public void ChannelBind_OverMaxChannels_Returns508()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxChannelsPerAllocation = 1 });
        server.AllocateOk();
        TurnAssert.Success(server.ChannelBind(Channel, TurnTestHarness.PublicPeer));

        TurnReply reply = server.ChannelBind(Channel + 1, TurnTestHarness.OtherPublicPeer);

        TurnAssert.Error(508, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        TurnAssert.Success(server.ChannelBind(Channel, TurnTestHarness.PublicPeer));
    }

    [Fact]
    public void ChannelBind_WhenThePeerNeedsAPermissionAndTheTableIsFull_Returns508()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxPermissionsPerAllocation = 1 });
        server.AllocateOk();
        TurnAssert.Success(server.CreatePermission(TurnTestHarness.PublicPeer));

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.OtherPublicPeer);

        TurnAssert.Error(508, reply);
    }

    [Fact]
    public void ChannelBind_ChannelNumberStaysReservedFiveMinutesAfterExpiry()
    {
        var server = new TurnTestHarness();
        server.AllocateOk(extra: (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 3600));
        TurnAssert.Success(server.ChannelBind(Channel, TurnTestHarness.PublicPeer));
        server.Advance(601);
        server.Sweep();
        Assert.Equal(Outcome.DroppedNoPermission, server.ChannelData(Channel, [1]));

        TurnReply withinCoolDown = server.ChannelBind(Channel, TurnTestHarness.OtherPublicPeer);
        server.Advance(300);
        server.Sweep();
        TurnReply afterCoolDown = server.ChannelBind(Channel, TurnTestHarness.OtherPublicPeer);

        TurnAssert.Error(400, withinCoolDown);
        TurnAssert.Success(afterCoolDown);
        Assert.Equal(Outcome.Relayed, server.ChannelData(Channel, [1]));
        Assert.Equal(TurnTestHarness.OtherPublicPeer, server.SentToPeers()[^1].Peer);
    }

    [Fact]
    public void ChannelBind_ExpiredChannel_CanBeBoundAgainToItsOwnPeerAtOnce()
    {
        var server = new TurnTestHarness();
        server.AllocateOk(extra: (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 3600));
        server.ChannelBind(Channel, TurnTestHarness.PublicPeer);
        server.Advance(601);
        server.Sweep();

        TurnReply reply = server.ChannelBind(Channel, TurnTestHarness.PublicPeer);

        TurnAssert.Success(reply);
        Assert.Equal(Outcome.Relayed, server.ChannelData(Channel, [1]));
    }
}
