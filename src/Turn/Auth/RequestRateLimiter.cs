using Turn.Wire;

namespace Turn.Auth;

/// <summary>
/// Caps requests that fail authentication per source IP, in a fixed table of slots indexed by a
/// hash of the address: memory does not grow with the number of sources, and an attacker who
/// spreads over many addresses only shares slots. Counts are approximate under contention,
/// which is all a flood guard needs.
/// </summary>
internal sealed class RequestRateLimiter(int perSecond, int slots = 4096)
{
    private readonly Slot[] _slots = new Slot[slots];

    /// <summary>True when this source may be answered; false once it passed its budget for the current second.</summary>
    public bool TryAcquire(StunAddress source, long nowMs)
    {
        if (perSecond <= 0)
        {
            return true;
        }

        ref Slot slot = ref _slots[(int)((uint)source.Address.GetHashCode() % (uint)_slots.Length)];
        long window = nowMs / 1000;
        if (slot.Address != source.Address || slot.Window != window)
        {
            slot.Address = source.Address;
            slot.Window = window;
            slot.Count = 0;
        }

        return ++slot.Count <= perSecond;
    }

    private struct Slot
    {
        public UInt128 Address;
        public long Window;
        public int Count;
    }
}
