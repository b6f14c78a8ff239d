using Turn.Relay;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Relay;

/// <summary>The one periodic sweep (RFC 8656 §7, §9, §12): allocations, permissions, channels, and what else it is handed.</summary>
public sealed class ExpirySweeperTests
{
    private const long Now = 1_000_000;

    [Fact]
    public void Sweep_RemovesExpiredAllocationsAndClosesTheirRelays()
    {
        var table = new AllocationTable();
        var expiredRelay = new TurnFakeRelayEndpoint(TurnTestHarness.At("192.0.2.10", 49152));
        var liveRelay = new TurnFakeRelayEndpoint(TurnTestHarness.At("192.0.2.10", 49153));
        Allocation expired = Add(table, AllocationTests.Create(relay4: expiredRelay, expiresAt: Now), 40000);
        Allocation live = Add(table, AllocationTests.Create(relay4: liveRelay, expiresAt: Now + 1), 40001);

        int count = new ExpirySweeper(table).Sweep(Now);

        Assert.Equal(1, count);
        Assert.Equal(1, table.Count);
        Assert.Same(live, Assert.Single(table.All));
        Assert.True(expired.IsClosed);
        Assert.True(expiredRelay.Disposed);
        Assert.False(liveRelay.Disposed);
    }

    private static readonly global::Turn.Wire.StunAddress Client = global::Turn.Wire.StunAddress.FromIPEndPoint(System.Net.IPEndPoint.Parse("198.51.100.7:40000"));

    [Fact]
    public void Sweep_ReleasesTheUsersQuota()
    {
        var table = new AllocationTable();
        var limits = new RelayLimits { MaxAllocationsPerUser = 1 };
        Add(table, AllocationTests.Create(limits, expiresAt: Now), 40000, limits);
        Assert.Equal(QuotaResult.UserFull, table.TryReserve("alice", Client, limits));

        new ExpirySweeper(table).Sweep(Now);

        Assert.Equal(QuotaResult.Reserved, table.TryReserve("alice", Client, limits));
    }

    [Fact]
    public void Sweep_DropsExpiredPermissionsOfLiveAllocations()
    {
        var table = new AllocationTable();
        Allocation allocation = Add(table, AllocationTests.Create(expiresAt: Now + 600_000), 40000);
        StunAddress peer = TurnTestHarness.At("8.8.8.8", 5000);
        allocation.TryInstallPermissions([peer], Now);

        new ExpirySweeper(table).Sweep(Now);

        Assert.Equal(0, allocation.SweepPermissions(Now - 1));
    }

    [Fact]
    public void Sweep_HandsTheTimeToWhatElseItSweeps()
    {
        long? seen = null;

        new ExpirySweeper(new AllocationTable(), now => seen = now).Sweep(Now);

        Assert.Equal(Now, seen);
    }

    [Fact]
    public void Sweep_OfAnEmptyTable_ExpiresNothing()
    {
        Assert.Equal(0, new ExpirySweeper(new AllocationTable()).Sweep(Now));
    }

    private static Allocation Add(AllocationTable table, Allocation template, ushort clientPort, RelayLimits? limits = null)
    {
        // Allocations enter the table as the handler puts them there: reserve, then complete.
        var allocation = new Allocation(
            new FiveTuple(TransportProtocol.Udp, TurnTestHarness.DefaultClient.WithPort(clientPort), TurnTestHarness.ServerAddress),
            template.Username,
            template.Key,
            template.Relay4,
            template.Relay6,
            template.Client,
            template.Limits,
            template.ExpiresAt,
            new byte[12]);
        Assert.Equal(QuotaResult.Reserved, table.TryReserve(allocation.Username, allocation.FiveTuple.Client, limits ?? template.Limits));
        table.Complete(allocation.Username, allocation.FiveTuple.Client, allocation);
        return allocation;
    }
}
