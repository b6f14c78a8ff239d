namespace Turn.Relay;

/// <summary>
/// The one periodic sweep for every expiry (RFC 8656 §7, §9, §12): allocations whose lifetime
/// ran out, permissions and channel bindings, and unclaimed port reservations. No object keeps
/// a timer of its own.
/// </summary>
internal sealed class ExpirySweeper(AllocationTable allocations, Action<long>? sweepMore = null)
{
    /// <summary>Sweeps once; returns how many allocations expired.</summary>
    public int Sweep(long nowMs)
    {
        int expired = 0;
        foreach (Allocation allocation in allocations.All)
        {
            if (allocation.ExpiresAt <= nowMs)
            {
                if (allocations.Remove(allocation, AllocationEnd.Expired, nowMs))
                {
                    expired++;
                }

                continue;
            }

            allocation.SweepPermissions(nowMs);
            allocation.SweepChannels(nowMs);
        }

        sweepMore?.Invoke(nowMs);
        return expired;
    }
}
