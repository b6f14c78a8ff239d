using Turn.Relay;
using Turn.Server;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Relay;

/// <summary>
/// What an allocation costs in managed memory: the challenge and a ChannelBind allocate nothing,
/// and an allocation (with its table entries, one permission and one channel) keeps about a
/// kilobyte. Runs alone, because it measures the whole heap.
/// </summary>
[Collection(nameof(Transport.RunsAlone))]
public sealed class AllocationFootprintTests(ITestOutputHelper output)
{
    private const int Count = 4000;

    [Fact]
    public void ChallengeAllocateAndChannelBind_CostAllocationsAKilobyteAndRequestsNothing()
    {
        var harness = new TurnTestHarness(new RelayLimits { MaxAllocations = 100_000, MaxAllocationsPerUser = 100_000, MaxAllocationsPerAddress = 100_000 });
        var sources = new StunAddress[Count];
        var challenges = new byte[Count][];
        var allocates = new byte[Count][];
        var binds = new byte[Count][];
        for (int i = 0; i < Count; i++)
        {
            sources[i] = TurnTestHarness.At("198.51.100.7", 10000 + i);
            challenges[i] = TurnMessages.Unsigned(StunMethod.Allocate, StunClass.Request, TurnMessages.TransactionId(), TurnMessages.RequestedTransportUdp);
            allocates[i] = harness.Signed(StunMethod.Allocate, TurnMessages.RequestedTransportUdp, source: sources[i]);
            binds[i] = harness.Signed(StunMethod.ChannelBind, (ref StunWriter w) =>
            {
                w.AddUInt16Reserved(StunAttributeType.ChannelNumber, 0x4000);
                w.AddXorAddress(StunAttributeType.XorPeerAddress, TurnTestHarness.PublicPeer);
            }, source: sources[i]);
        }

        byte[] response = new byte[2048];
        (long challengeAllocated, _) = Run(harness, challenges, sources, response);
        (long allocateAllocated, long allocateRetained) = Run(harness, allocates, sources, response);
        (long bindAllocated, long bindRetained) = Run(harness, binds, sources, response);
        output.WriteLine($"for {Count} requests each: 401: {challengeAllocated} B allocated; Allocate: {allocateAllocated} B allocated, {allocateRetained / Count} B kept per request; ChannelBind: {bindAllocated} B allocated, {bindRetained / Count} B kept per request");

        Assert.Equal(Count, harness.Allocations.Count);
        Assert.Equal(0, challengeAllocated);
        Assert.Equal(0, bindAllocated);
        Assert.True(allocateRetained <= 1100L * Count, $"an allocation keeps {allocateRetained / Count} B of managed heap");
    }

    /// <summary>Bytes allocated and kept over all the requests, each answered.</summary>
    private static (long Allocated, long Retained) Run(TurnTestHarness harness, byte[][] packets, StunAddress[] sources, byte[] response)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long retainedBefore = GC.GetTotalMemory(true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < packets.Length; i++)
        {
            if (harness.Handler.Handle(packets[i], harness.Context(sources[i]), response).Length == 0)
            {
                throw new Xunit.Sdk.XunitException($"request {i} got no answer");
            }
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long retained = GC.GetTotalMemory(true) - retainedBefore;
        return (allocated, retained);
    }
}
