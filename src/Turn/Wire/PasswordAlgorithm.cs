using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>
/// PASSWORD-ALGORITHM (RFC 8489 §14.12) and the list PASSWORD-ALGORITHMS (§14.11):
/// <code>
/// |          Algorithm            |  Algorithm Parameters Length   |
/// |                    Algorithm Parameters (variable)             ..
/// </code>
/// Values from IANA's "STUN Password Algorithms" registry (§18.5).
/// </summary>
internal static class PasswordAlgorithm
{
    public const ushort Md5 = 0x0001;
    public const ushort Sha256 = 0x0002;

    /// <summary>A single PASSWORD-ALGORITHM value; parameters must fit exactly.</summary>
    public static bool TryRead(ReadOnlySpan<byte> value, out ushort algorithm)
    {
        algorithm = 0;
        if (value.Length < 4)
        {
            return false;
        }

        algorithm = BinaryPrimitives.ReadUInt16BigEndian(value);
        int parameters = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        return 4 + Padding.Pad4(parameters) == value.Length || 4 + parameters == value.Length;
    }

    /// <summary>Walks a PASSWORD-ALGORITHMS list into <paramref name="algorithms"/>; false when malformed.</summary>
    public static bool TryReadList(ReadOnlySpan<byte> value, Span<ushort> algorithms, out int count)
    {
        count = 0;
        int offset = 0;
        while (offset < value.Length)
        {
            if (offset + 4 > value.Length)
            {
                return false;
            }

            ushort algorithm = BinaryPrimitives.ReadUInt16BigEndian(value[offset..]);
            int parameters = BinaryPrimitives.ReadUInt16BigEndian(value[(offset + 2)..]);
            offset += 4 + Padding.Pad4(parameters);
            if (offset > value.Length)
            {
                return false;
            }

            if (count < algorithms.Length)
            {
                algorithms[count++] = algorithm;
            }
        }

        return true;
    }

    /// <summary>Writes algorithms with empty parameters, as MD5 and SHA-256 have; returns the length.</summary>
    public static int WriteList(Span<byte> destination, ReadOnlySpan<ushort> algorithms)
    {
        for (int i = 0; i < algorithms.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[(i * 4)..], algorithms[i]);
            BinaryPrimitives.WriteUInt16BigEndian(destination[((i * 4) + 2)..], 0);
        }

        return algorithms.Length * 4;
    }
}
