using System.Buffers;
using System.Security.Cryptography;

// RFC 8489 §14.5 fixes HMAC-SHA1 for MESSAGE-INTEGRITY; SHA-256 is offered beside it, not instead.
#pragma warning disable CA5350

namespace Turn.Wire;

/// <summary>
/// MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 §14.5) and MESSAGE-INTEGRITY-SHA256 (§14.6).
/// The HMAC covers the message up to the attribute, with the header's length adjusted
/// to end just after the attribute, as if nothing followed it.
/// </summary>
internal static class MessageIntegrity
{
    public const int Sha1Length = 20;
    public const int Sha256Length = 32;
    private const int StackLimit = 1024;

    /// <summary>Verifies the attribute whose header sits at <paramref name="offset"/> of a parsed message.</summary>
    public static bool Verify(ReadOnlySpan<byte> message, int offset, bool sha256, ReadOnlySpan<byte> key)
    {
        if (offset < StunHeader.Length || offset + 4 > message.Length)
        {
            return false;
        }

        int valueLength = (message[offset + 2] << 8) | message[offset + 3];
        if (offset + 4 + valueLength > message.Length)
        {
            return false;
        }

        byte[]? rented = null;
        Span<byte> copy = offset <= StackLimit
            ? stackalloc byte[StackLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(offset));
        try
        {
            copy = copy[..offset];
            message[..offset].CopyTo(copy);
            StunHeader.WriteLength(copy, offset + 4 + valueLength - StunHeader.Length);
            Span<byte> mac = stackalloc byte[Sha256Length];
            int macLength = sha256
                ? HMACSHA256.HashData(key, copy, mac)
                : HMACSHA1.HashData(key, copy, mac);

            // RFC 8489 §14.6: a truncated SHA-256 value compares its leading bytes.
            return valueLength <= macLength
                && CryptographicOperations.FixedTimeEquals(mac[..valueLength], message.Slice(offset + 4, valueLength));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Computes the value over <paramref name="prefix"/>, whose header length must already include the attribute.</summary>
    public static void Compute(ReadOnlySpan<byte> prefix, bool sha256, ReadOnlySpan<byte> key, Span<byte> destination)
    {
        if (sha256)
        {
            HMACSHA256.HashData(key, prefix, destination);
        }
        else
        {
            HMACSHA1.HashData(key, prefix, destination);
        }
    }
}
