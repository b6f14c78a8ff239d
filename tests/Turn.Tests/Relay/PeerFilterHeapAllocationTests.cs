using Turn.Relay;
using Turn.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Relay;

/// <summary>The filter runs for every permission and Send indication, so it allocates nothing.</summary>
public sealed class PeerFilterHeapAllocationTests(ITestOutputHelper output)
{
    private const int Rounds = 10_000;

    [Fact]
    public void IsAllowed_OnMixedPeers_AllocatesNothing()
    {
        PeerFilter filter = PeerFilterTests.DefaultFilter(allowLoopback: false);
        StunAddress[] peers =
        [
            PeerFilterTests.At("8.8.8.8", 53),
            PeerFilterTests.At("2606:4700::1111", 443),
            PeerFilterTests.At("127.0.0.1", 9),
            PeerFilterTests.At("::ffff:169.254.169.254", 80),
            PeerFilterTests.At("2002:a00:1::1", 40000),
            PeerFilterTests.At("64:ff9b:1::a00:1", 40000),
            PeerFilterTests.At("2001:0:4136:e378:8000:63bf:3fff:fdd2", 40000),
            PeerFilterTests.At("10.0.0.5", 3478),
            PeerFilterTests.At("10.0.0.5", 50000),
            PeerFilterTests.At("::", 9),
            PeerFilterTests.At("fd00:ec2::254", 80),
        ];
        int allowed = CountAllowed(filter, peers, peers.Length * 100);

        // Steady state first: while tiered compilation instruments and promotes the methods, the
        // calling thread allocates a little, later on a loaded machine; wait (50 batches at most)
        // for a batch that allocates nothing. An allocation per call shows in every batch.
        for (int batch = 0; batch < 50; batch++)
        {
            long start = GC.GetAllocatedBytesForCurrentThread();
            CountAllowed(filter, peers, Rounds);
            if (GC.GetAllocatedBytesForCurrentThread() == start)
            {
                break;
            }

            Thread.Sleep(100);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        allowed = CountAllowed(filter, peers, Rounds);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        output.WriteLine($"IsAllowed x{Rounds}: {allocated} bytes allocated, {allowed} allowed");
        Assert.Equal(0, allocated);
        Assert.True(allowed > 0 && allowed < Rounds);
    }

    private static int CountAllowed(PeerFilter filter, StunAddress[] peers, int rounds)
    {
        int allowed = 0;
        for (int i = 0; i < rounds; i++)
        {
            if (filter.IsAllowed(peers[i % peers.Length]))
            {
                allowed++;
            }
        }

        return allowed;
    }
}
