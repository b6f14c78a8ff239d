using System.Buffers.Binary;

namespace Turn.Wire;

/// <summary>RFC 8489 §14.7: CRC-32 (ISO 3309 / ITU-T V.42) of the message up to FINGERPRINT, XOR 0x5354554e.</summary>
internal static class Fingerprint
{
    public const uint Xor = 0x5354554E;

    private static readonly uint[] Table = BuildTable();

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        uint[] table = Table;
        foreach (byte b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    /// <summary>The value for a message whose header length already counts the FINGERPRINT attribute.</summary>
    public static uint Compute(ReadOnlySpan<byte> messageBeforeFingerprint) => Crc32(messageBeforeFingerprint) ^ Xor;

    /// <summary>Checks FINGERPRINT at <paramref name="offset"/>; the header length must already end at it, which a parsed message guarantees.</summary>
    public static bool Verify(ReadOnlySpan<byte> message, int offset)
        => BinaryPrimitives.ReadUInt32BigEndian(message[(offset + 4)..]) == Compute(message[..offset]);

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
