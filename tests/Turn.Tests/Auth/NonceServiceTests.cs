using System.Text;
using Turn.Auth;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Auth;

/// <summary>Stateless nonces (RFC 8489 §9.2): bound to the client IP, valid for their lifetime, marked with the security features.</summary>
public sealed class NonceServiceTests
{
    private const long Now = 1_700_000_000;
    private static readonly StunAddress Client = TurnTestHarness.At("198.51.100.7", 40000);

    [Fact]
    public void Create_StartsWithTheCookieAndTheFeatureBits()
    {
        string nonce = Encoding.ASCII.GetString(Create(new NonceService(new byte[32]), Client, Now));

        // RFC 8489 §9.2: "obMatJos2", then the 24 feature bits in base64; password algorithms and username anonymity are set.
        Assert.StartsWith(NonceService.Cookie + "AAAD", nonce, StringComparison.Ordinal);
        Assert.True(nonce.Length < 128, "RFC 8489 §14.10: a NONCE is under 128 characters");
    }

    [Fact]
    public void IsValid_ForTheSameIpWithinTheLifetime()
    {
        var nonces = new NonceService(new byte[32], 60);
        byte[] nonce = Create(nonces, Client, Now);

        Assert.True(nonces.IsValid(nonce, Client, Now));
        Assert.True(nonces.IsValid(nonce, Client.WithPort(1), Now + 59));
        Assert.False(nonces.IsValid(nonce, Client, Now + 60));
    }

    [Fact]
    public void IsValid_FalseForAnotherIp()
    {
        var nonces = new NonceService(new byte[32]);
        byte[] nonce = Create(nonces, Client, Now);

        Assert.False(nonces.IsValid(nonce, TurnTestHarness.At("198.51.100.8", 40000), Now));
        Assert.False(nonces.IsValid(nonce, TurnTestHarness.At("::ffff:198.51.100.7", 40000), Now));
    }

    [Fact]
    public void IsValid_FalseForAnotherServersKey()
    {
        byte[] nonce = Create(new NonceService(new byte[32]), Client, Now);
        byte[] otherKey = new byte[32];
        otherKey[0] = 1;

        Assert.False(new NonceService(otherKey).IsValid(nonce, Client, Now));
    }

    [Fact]
    public void IsValid_FalseForATamperedNonce()
    {
        var nonces = new NonceService(new byte[32]);
        byte[] nonce = Create(nonces, Client, Now);
        nonce[^3] = nonce[^3] == (byte)'A' ? (byte)'B' : (byte)'A';

        Assert.False(nonces.IsValid(nonce, Client, Now));
        Assert.False(nonces.IsValid(nonce.AsSpan(0, nonce.Length - 1), Client, Now));
        Assert.False(nonces.IsValid([], Client, Now));
    }

    [Fact]
    public void IsValid_FalseForANonceFromTheFuture()
    {
        var nonces = new NonceService(new byte[32]);
        byte[] nonce = Create(nonces, Client, Now + 60);

        Assert.False(nonces.IsValid(nonce, Client, Now));
    }

    private static byte[] Create(NonceService nonces, StunAddress client, long now)
    {
        byte[] buffer = new byte[64];
        int length = nonces.Create(client, now, buffer);
        return buffer[..length];
    }
}
