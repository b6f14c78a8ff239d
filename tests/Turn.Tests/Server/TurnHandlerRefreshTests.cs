using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

/// <summary>RFC 8656 §7.3-§7.4: the Refresh request.</summary>
public sealed class TurnHandlerRefreshTests
{
    [Fact]
    public void Refresh_WithoutAllocation_Returns437()
    {
        var server = new TurnTestHarness();

        TurnReply reply = server.Refresh(600);

        TurnAssert.Error(437, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
    }

    [Fact]
    public void Refresh_WithoutCredentials_Returns401()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Request(TurnMessages.Unsigned(StunMethod.Refresh, StunClass.Request, TurnMessages.TransactionId(), (ref StunWriter w) => w.AddUInt32(StunAttributeType.Lifetime, 0)));

        TurnAssert.Error(401, reply);
        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void Refresh_WithOtherUsersCredentials_Returns441()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Refresh(0, TurnTestHarness.Bob);

        TurnAssert.Error(441, reply);
        TurnAssert.SignedWith(TurnTestHarness.Bob, reply);
        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void Refresh_WithLifetimeZero_DeletesTheAllocation()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Refresh(0);

        TurnAssert.Success(reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
        Assert.Equal(0u, reply.Lifetime);
        Assert.Equal(0, server.Allocations.Count);
        Assert.True(Assert.Single(server.Ports.Opened).Disposed, "the relay socket must be closed");
        TurnAssert.Error(437, server.CreatePermission(TurnTestHarness.PublicPeer));
        Assert.Equal(Outcome.DroppedNoAllocation, server.SendIndication(TurnTestHarness.PublicPeer, [1, 2, 3]));
    }

    [Theory]
    [InlineData(null, 600u)]
    [InlineData(1200u, 1200u)]
    [InlineData(99999u, 3600u)]
    [InlineData(10u, 600u)]
    public void Refresh_WithRequestedLifetime_GrantsItWithinDefaultAndMaximum(uint? requested, uint granted)
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.Advance(100);

        TurnReply reply = server.Refresh(requested);

        TurnAssert.Success(reply);
        Assert.Equal(granted, reply.Lifetime);
        Assert.Equal(server.NowMs + (granted * 1000L), server.AllocationOf().ExpiresAt);
    }

    [Fact]
    public void Refresh_KeepsTheAllocationPastItsFirstLifetime()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();
        server.Advance(500);
        TurnAssert.Success(server.Refresh(600));
        server.Advance(500);

        Assert.Equal(0, server.Sweep());

        Assert.Equal(1, server.Allocations.Count);
    }

    [Fact]
    public void Refresh_RequestingIpv6OnIpv4Allocation_Returns443()
    {
        var server = new TurnTestHarness(ipv6: true);
        server.AllocateOk();

        TurnReply reply = server.Refresh(600, extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6));

        TurnAssert.Error(443, reply);
        TurnAssert.SignedWith(TurnTestHarness.Alice, reply);
    }

    [Fact]
    public void Refresh_RequestingIpv4OnIpv4Allocation_Succeeds()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Refresh(600, extra: (ref StunWriter w) => w.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv4));

        TurnAssert.Success(reply);
    }

    [Fact]
    public void Refresh_FromAnotherFiveTuple_Returns437()
    {
        var server = new TurnTestHarness();
        server.AllocateOk();

        TurnReply reply = server.Call(StunMethod.Refresh, null, source: server.Client.WithPort(40001));

        TurnAssert.Error(437, reply);
    }
}
