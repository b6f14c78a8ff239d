using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>RFC 8489 §14.13: UNKNOWN-ATTRIBUTES, a list of 16-bit attribute types.</summary>
internal static class UnknownAttributes
{
    public static bool TryRead(ReadOnlySpan<byte> value, Span<ushort> types, out int count)
    {
        count = 0;
        if ((value.Length & 1) != 0)
        {
            return false;
        }

        for (int i = 0; i + 1 < value.Length && count < types.Length; i += 2)
        {
            types[count++] = BinaryPrimitives.ReadUInt16BigEndian(value[i..]);
        }

        return true;
    }
}
