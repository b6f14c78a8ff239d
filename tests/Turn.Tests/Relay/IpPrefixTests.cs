using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Relay;

public sealed class IpPrefixTests
{
    [Theory]
    [InlineData("10.0.0.0/8", AddressFamily.InterNetwork, 8, "10.0.0.0/8")]
    [InlineData("192.168.1.1", AddressFamily.InterNetwork, 32, "192.168.1.1/32")]
    [InlineData("0.0.0.0/0", AddressFamily.InterNetwork, 0, "0.0.0.0/0")]
    [InlineData("255.255.255.255/32", AddressFamily.InterNetwork, 32, "255.255.255.255/32")]
    [InlineData("fe80::/10", AddressFamily.InterNetworkV6, 10, "fe80::/10")]
    [InlineData("FE80::/10", AddressFamily.InterNetworkV6, 10, "fe80::/10")]
    [InlineData("::1", AddressFamily.InterNetworkV6, 128, "::1/128")]
    [InlineData("::/0", AddressFamily.InterNetworkV6, 0, "::/0")]
    [InlineData("::ffff:0:0/96", AddressFamily.InterNetworkV6, 96, "::ffff:0:0/96")]
    [InlineData("64:ff9b:1::/48", AddressFamily.InterNetworkV6, 48, "64:ff9b:1::/48")]
    [InlineData("2001:db8::/32", AddressFamily.InterNetworkV6, 32, "2001:db8::/32")]
    public void TryParse_AcceptsCidrAndBareAddresses(string text, AddressFamily family, int length, string canonical)
    {
        Assert.True(IpPrefix.TryParse(text, out IpPrefix prefix));

        Assert.Equal(family, prefix.Family);
        Assert.Equal(length, prefix.Length);
        Assert.Equal(canonical, prefix.ToString());
        Assert.Equal(prefix, IpPrefix.Parse(canonical));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("/8")]
    [InlineData("10.0.0.0/")]
    [InlineData("10.0.0.0/33")]
    [InlineData("::/129")]
    [InlineData("10.0.0.0/08")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/+8")]
    [InlineData("10.0.0.0/ 8")]
    [InlineData(" 10.0.0.0/8")]
    [InlineData("10.0.0.0/8 ")]
    [InlineData("10.0.0.0/8/8")]
    [InlineData("10.0.0.1/8")]
    [InlineData("fe80::1/10")]
    [InlineData("10.0.0/8")]
    [InlineData("1.2.3.4.5")]
    [InlineData("256.0.0.0/8")]
    [InlineData("127.1")]
    [InlineData("2130706433")]
    [InlineData("010.0.0.0/8")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("fe80::1%eth0")]
    [InlineData("[::1]")]
    [InlineData("[::1]/128")]
    [InlineData("gggg::/16")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData("localhost")]
    public void TryParse_RejectsMalformedAmbiguousOrHostBitPrefixes(string? text)
    {
        Assert.False(IpPrefix.TryParse(text, out IpPrefix prefix));
        Assert.Equal(default, prefix);
    }

    [Fact]
    public void Parse_Malformed_ThrowsFormatExceptionNamingTheValue()
    {
        FormatException error = Assert.Throws<FormatException>(() => IpPrefix.Parse("10.0.0.1/8"));

        Assert.Contains("10.0.0.1/8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.0.0.0", true)]
    [InlineData("10.0.0.0/8", "10.255.255.255", true)]
    [InlineData("10.0.0.0/8", "11.0.0.0", false)]
    [InlineData("10.0.0.0/8", "9.255.255.255", false)]
    [InlineData("10.0.0.0/8", "::ffff:10.0.0.1", false)]
    [InlineData("172.16.0.0/12", "172.31.255.255", true)]
    [InlineData("172.16.0.0/12", "172.32.0.0", false)]
    [InlineData("0.0.0.0/0", "203.0.113.7", true)]
    [InlineData("0.0.0.0/0", "::1", false)]
    [InlineData("192.168.1.1", "192.168.1.1", true)]
    [InlineData("192.168.1.1", "192.168.1.2", false)]
    [InlineData("fe80::/10", "febf:ffff::1", true)]
    [InlineData("fe80::/10", "fec0::1", false)]
    [InlineData("::/0", "2606:4700::1111", true)]
    [InlineData("::/0", "8.8.8.8", false)]
    [InlineData("::1", "::1", true)]
    [InlineData("::1", "::2", false)]
    [InlineData("::ffff:0:0/96", "::ffff:10.0.0.1", true)]
    public void Contains_MatchesSameFamilyInsideTheBlock(string prefix, string address, bool expected)
    {
        StunAddress peer = StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(address), 3478));

        Assert.Equal(expected, IpPrefix.Parse(prefix).Contains(peer));
    }

    [Fact]
    public void Host_IsTheOneAddressBlock()
    {
        StunAddress address = StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("2001:db8::5"), 3478));

        IpPrefix host = IpPrefix.Host(address);

        Assert.Equal("2001:db8::5/128", host.ToString());
        Assert.True(host.Contains(address.WithPort(1)));
    }
}
