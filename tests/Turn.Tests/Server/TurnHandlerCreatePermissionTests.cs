using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>RFC 8656 §9: CreatePermission and what a permission allows.</summary>
public sealed class TurnHandlerCreatePermissionTests
{
    [Fact]
    public void CreatePermission_WithoutPeerAddress_Returns400()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.CreatePermission();

        TurnAssert.Error(400, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
    }

    [Fact]
    public void CreatePermission_WithoutAllocation_Returns437()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.CreatePermission(TurnTestHarness.PublicPeer);

        TurnAssert.Error(437, reply);
    }

    [Fact]
    public void CreatePermission_WithOtherUsersCredentials_Returns441()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.CreatePermission(TurnTestHarness.Bob, TurnTestHarness.PublicPeer);

        TurnAssert.Error(441, reply);
        Assert.False(server.AllocationOf().HasPermission(TurnTestHarness.PublicPeer, server.NowMs));
    }

    [Fact]
    public void CreatePermission_Ipv6PeerOnIpv4Allocation_Returns443()
    {
        var server = new TurnTestHarness(ipv6: true);
        server.AllocateOk();

        TurnReply reply = server.CreatePermission(TurnTestHarness.PublicPeer6);

        TurnAssert.Error(443, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
    }

    [Fact]
    public void CreatePermission_Ipv4PeerOnIpv6Allocation_Returns443()
    {
        var server = new TurnTestHarness(ipv6: true);
        server.AllocateOk(extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6));

        TurnReply reply = server.CreatePermission(TurnTestHarness.PublicPeer);

        TurnAssert.Error(443, reply);
    }

    [Fact]
    public void CreatePermission_Success_IsSignedAndLetsDataThrough()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.CreatePermission(TurnTestHarness.PublicPeer);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(Outcome.Relayed, server.SendIndication(TurnTestHarness.PublicPeer, [1]));
    }

    [Fact]
    public void CreatePermission_CoversEveryPortOfThePeerIp()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        server.CreatePermission(TurnTestHarness.PublicPeer);

        Assert.Equal(Outcome.Relayed, server.SendIndication(TurnTestHarness.PublicPeer.WithPort(6000), [1]));
    }

    [Fact]
    public void CreatePermission_WithSeveralPeers_InstallsThemAll()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnAssert.Success(server.CreatePermission(TurnTestHarness.PublicPeer, TurnTestHarness.OtherPublicPeer));

        Allocation allocation = server.AllocationOf();
        Assert.True(allocation.HasPermission(TurnTestHarness.PublicPeer, server.NowMs));
        Assert.True(allocation.HasPermission(TurnTestHarness.OtherPublicPeer, server.NowMs));
    }

    [Fact]
    public void CreatePermission_BeyondMaxPermissions_Returns508AndInstallsNone()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxPermissionsPerAllocation = 2 });
        server.AllocateOk();
        TurnAssert.Success(server.CreatePermission(TurnTestHarness.PublicPeer));
        StunAddress third = TurnTestHarness.At("9.9.9.9", 5000);

        TurnReply reply = server.CreatePermission(TurnTestHarness.OtherPublicPeer, third);

        TurnAssert.Error(508, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Allocation allocation = server.AllocationOf();
        Assert.False(allocation.HasPermission(TurnTestHarness.OtherPublicPeer, server.NowMs), "all or nothing: the first peer of the refused request must not be installed");
        Assert.False(allocation.HasPermission(third, server.NowMs));
        Assert.True(allocation.HasPermission(TurnTestHarness.PublicPeer, server.NowMs));
    }

    [Fact]
    public void CreatePermission_RefreshingAnExistingPermissionAtTheLimit_Succeeds()
    {
        var server = new TurnTestHarness(new RelayLimits { MaxPermissionsPerAllocation = 2 });
        server.AllocateOk();
        TurnAssert.Success(server.CreatePermission(TurnTestHarness.PublicPeer, TurnTestHarness.OtherPublicPeer));

        TurnReply reply = server.CreatePermission(TurnTestHarness.PublicPeer, TurnTestHarness.OtherPublicPeer, TurnTestHarness.PublicPeer.WithPort(7000));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void CreatePermission_Refreshed_LastsAnotherFiveMinutes()
    {
        var server = new TurnTestHarness();
        server.AllocateOk(extra: (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 3600));
        server.CreatePermission(TurnTestHarness.PublicPeer);
        server.Advance(200);
        server.CreatePermission(TurnTestHarness.PublicPeer);
        server.Advance(200);

        server.Sweep();

        Assert.Equal(Outcome.Relayed, server.SendIndication(TurnTestHarness.PublicPeer, [1]));
    }
}
