using Turn.Server;

namespace Turn.Transport;

/// <summary>
/// Buffers big enough for any UDP datagram with room around it, lent to relay loops for the moment
/// between taking a datagram and handing it on, so that no allocation holds one while it waits.
/// A fixed set of slots taken and given back with one interlocked exchange each: no lock, no
/// allocation once warm, and never more buffers kept than slots (a surplus one is left to the GC).
/// </summary>
internal static class DatagramBuffers
{
    public const int Length = PacketPath.PeerBufferLength;

    private static readonly byte[]?[] Slots = new byte[]?[Math.Max(16, Environment.ProcessorCount * 8)];

    public static byte[] Rent()
    {
        for (int i = 0; i < Slots.Length; i++)
        {
            if (Volatile.Read(ref Slots[i]) is not null && Interlocked.Exchange(ref Slots[i], null) is { } buffer)
            {
                return buffer;
            }
        }

        return GC.AllocateUninitializedArray<byte>(Length, pinned: true);
    }

    public static void Return(byte[] buffer)
    {
        for (int i = 0; i < Slots.Length; i++)
        {
            if (Volatile.Read(ref Slots[i]) is null && Interlocked.CompareExchange(ref Slots[i], buffer, null) is null)
            {
                return;
            }
        }
    }
}
