using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using Turn.Wire;

namespace Turn.Auth;

/// <summary>
/// Stateless nonces (RFC 8489 §9.2): the issue time and an HMAC over it and the client's IP
/// address, so an unauthenticated request costs the server no memory. The nonce starts with
/// the RFC 8489 §9.2 cookie "obMatJos2" and the security feature bits (password algorithms
/// and username anonymity, least significant bits as in verified erratum 6290), so RFC 8489
/// clients know PASSWORD-ALGORITHMS and USERHASH are offered.
/// </summary>
internal sealed class NonceService
{
    public const string Cookie = "obMatJos2";
    private const string Features = "AAAD";
    private const int MacLength = 9;
    private const int PayloadLength = 4 + MacLength;
    private static readonly int EncodedLength = Cookie.Length + Features.Length + Base64Url.GetEncodedLength(PayloadLength);

    private readonly byte[] _key;

    public NonceService(byte[]? key = null, int lifetimeSeconds = 600)
    {
        _key = key ?? RandomNumberGenerator.GetBytes(32);
        LifetimeSeconds = lifetimeSeconds;
    }

    public int LifetimeSeconds { get; }

    /// <summary>Writes a fresh nonce as ASCII; returns its length.</summary>
    public int Create(StunAddress client, long nowSeconds, Span<byte> destination)
    {
        Span<byte> payload = stackalloc byte[PayloadLength];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)nowSeconds);
        Mac(payload[..4], client, payload[4..]);
        int written = 0;
        foreach (char c in Cookie + Features)
        {
            destination[written++] = (byte)c;
        }

        Base64Url.EncodeToUtf8(payload, destination[written..], out _, out int encoded);
        return written + encoded;
    }

    /// <summary>True when the nonce was issued by this server to this client IP within the lifetime.</summary>
    public bool IsValid(ReadOnlySpan<byte> nonce, StunAddress client, long nowSeconds)
    {
        int prefix = Cookie.Length + Features.Length;
        if (nonce.Length != EncodedLength)
        {
            return false;
        }

        Span<byte> payload = stackalloc byte[PayloadLength];
        if (Base64Url.DecodeFromUtf8(nonce[prefix..], payload, out _, out int decoded) != System.Buffers.OperationStatus.Done || decoded != PayloadLength)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MacLength];
        Mac(payload[..4], client, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, payload[4..]))
        {
            return false;
        }

        long issued = BinaryPrimitives.ReadUInt32BigEndian(payload);
        return nowSeconds >= issued - 5 && nowSeconds - issued < LifetimeSeconds;
    }

    private void Mac(ReadOnlySpan<byte> time, StunAddress client, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[4 + 1 + 16];
        time.CopyTo(input);
        input[4] = client.IsIPv4 ? (byte)4 : (byte)6;
        BinaryPrimitives.WriteUInt128BigEndian(input[5..], client.Address);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, input, mac);
        mac[..MacLength].CopyTo(destination);
    }
}
