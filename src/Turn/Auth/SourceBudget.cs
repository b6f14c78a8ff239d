using Turn.Wire;

namespace Turn.Auth;

/// <summary>
/// A token bucket of bytes per source address, for the answers a source gets without credentials
/// (Binding responses, 401 and 438 challenges): a STUN server answering spoofed requests is a
/// reflector, so what one address can make the server send is bounded, whatever the requests
/// cost the sender. IPv6 sources count by /64, the block one host or site holds.
/// Sources live in a fixed table of slots indexed by a hash of the address, so memory does not
/// grow with the number of sources. A slot belongs to the last source seen there until its
/// bucket is full again (the source was quiet for a second); a source that lands on a busy slot
/// shares its bucket meanwhile, so spreading requests over many addresses buys no more bytes.
/// Counts are approximate under contention, which is all a flood guard needs; nothing here locks
/// or allocates.
/// </summary>
internal sealed class SourceBudget
{
    private readonly Slot[] _slots;
    private readonly long _bytesPerSecond;
    private readonly ulong _seed = (ulong)Random.Shared.NextInt64();

    /// <param name="bytesPerSecond">The rate, and the burst (one second's worth); 0: unlimited.</param>
    public SourceBudget(int bytesPerSecond, int slots = 16384)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        _bytesPerSecond = bytesPerSecond;
        _slots = new Slot[slots];
    }

    public int BytesPerSecond => (int)_bytesPerSecond;

    /// <summary>True when the source has no bytes left this second: drop its request before any work on it.</summary>
    public bool IsSpent(StunAddress source, long nowMs)
    {
        if (_bytesPerSecond == 0)
        {
            return false;
        }

        ref Slot slot = ref SlotOf(Key(source), nowMs);
        return slot.Tokens <= 0;
    }

    /// <summary>Takes what an unauthenticated answer to the source costs.</summary>
    public void Charge(StunAddress source, int bytes, long nowMs)
    {
        if (_bytesPerSecond == 0)
        {
            return;
        }

        ref Slot slot = ref SlotOf(Key(source), nowMs);
        slot.Tokens -= bytes;
    }

    /// <summary>The source's slot, refilled to <paramref name="nowMs"/>, taken over when its holder has been quiet.</summary>
    private ref Slot SlotOf(UInt128 key, long nowMs)
    {
        ulong hash = ((ulong)(key >> 64) ^ (ulong)key ^ _seed) * 0x9E37_79B9_7F4A_7C15UL;
        ref Slot slot = ref _slots[(int)((hash >> 32) % (ulong)_slots.Length)];
        long elapsed = nowMs - slot.RefilledMs;
        if (elapsed > 0)
        {
            slot.Tokens = Math.Min(_bytesPerSecond, slot.Tokens + (elapsed * _bytesPerSecond / 1000));
            slot.RefilledMs = nowMs;
        }

        if (slot.Key != key && (slot.Tokens >= _bytesPerSecond || slot.RefilledMs == 0))
        {
            slot.Key = key;
            slot.Tokens = _bytesPerSecond;
            slot.RefilledMs = nowMs;
        }

        return ref slot;
    }

    /// <summary>IPv4: the address, tagged so it never equals an IPv6 key; IPv6: its /64.</summary>
    private static UInt128 Key(StunAddress source)
        => source.IsIPv4 ? new UInt128(1, (ulong)source.Address) : source.Address & new UInt128(ulong.MaxValue, 0);

    private struct Slot
    {
        public UInt128 Key;
        public long Tokens;
        public long RefilledMs;
    }
}
