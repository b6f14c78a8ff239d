using System.Net;
using Turn.Relay;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Relay;

public sealed class AddressCanonicalizerTests
{
    [Theory]
    [InlineData("::ffff:127.0.0.1", 3478, "127.0.0.1", 3478)] // IPv4-mapped, RFC 4291 §2.5.5.2
    [InlineData("::ffff:7f00:1", 80, "127.0.0.1", 80)]
    [InlineData("::ffff:0.0.0.0", 80, "0.0.0.0", 80)]
    [InlineData("::127.0.0.1", 80, "127.0.0.1", 80)] // IPv4-compatible, RFC 4291 §2.5.5.1
    [InlineData("::a00:1", 80, "10.0.0.1", 80)]
    [InlineData("::0.0.0.2", 80, "0.0.0.2", 80)]
    [InlineData("::ffff:0:7f00:1", 80, "127.0.0.1", 80)] // IPv4-translated, RFC 2765 §2.1
    [InlineData("2002:7f00:1::", 80, "127.0.0.1", 80)] // 6to4, RFC 3056 §2
    [InlineData("2002:a9fe:a9fe:1234:5678::1", 80, "169.254.169.254", 80)]
    [InlineData("64:ff9b::7f00:1", 80, "127.0.0.1", 80)] // NAT64 well-known, RFC 6052 §2.1
    [InlineData("64:ff9b::169.254.169.254", 80, "169.254.169.254", 80)]
    [InlineData("64:ff9b:1::a00:1", 80, "10.0.0.1", 80)] // NAT64 local-use, RFC 8215
    [InlineData("64:ff9b:1:abcd::a00:1", 80, "10.0.0.1", 80)]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", 80, "192.0.2.45", 40000)] // Teredo, RFC 4380 §4
    [InlineData("2001:0:4136:e378:8000:f227:80ff:fffe", 80, "127.0.0.1", 3544)]
    public void Canonicalize_ReducesEmbeddedIPv4(string address, int port, string expected, int expectedPort)
    {
        StunAddress canonical = AddressCanonicalizer.Canonicalize(At(address, port));

        Assert.Equal(At(expected, expectedPort), canonical);
        Assert.True(canonical.IsIPv4);
    }

    [Theory]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("8.8.8.8")]
    [InlineData("0.0.0.0")]
    [InlineData("2606:4700::1111")]
    [InlineData("2001:db8::1")]
    [InlineData("2001:1::1")] // next to Teredo, not Teredo
    [InlineData("2003::7f00:1")] // next to 6to4
    [InlineData("64:ff9b:2::7f00:1")] // outside the local-use /48
    [InlineData("64:ff9b:0:1::7f00:1")] // outside the well-known /96
    [InlineData("::1:ffff:7f00:1")]
    [InlineData("fe80::5efe:a00:1")] // ISATAP is left alone on purpose
    [InlineData("fe80::1")]
    public void Canonicalize_LeavesOtherAddressesUnchanged(string address)
    {
        StunAddress peer = At(address, 443);

        Assert.Equal(peer, AddressCanonicalizer.Canonicalize(peer));
    }

    [Fact]
    public void TryGetTeredoServer_ReadsBits32To63()
    {
        Assert.True(AddressCanonicalizer.TryGetTeredoServer(At("2001:0:4136:e378:8000:63bf:3fff:fdd2", 80), out StunAddress server));
        Assert.Equal(At("65.54.227.120", 0), server);

        Assert.False(AddressCanonicalizer.TryGetTeredoServer(At("2002:4136:e378::1", 80), out _));
        Assert.False(AddressCanonicalizer.TryGetTeredoServer(At("65.54.227.120", 80), out _));
    }

    private static StunAddress At(string ip, int port) => StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));
}
