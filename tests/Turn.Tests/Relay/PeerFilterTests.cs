using System.Net;
using Turn.Relay;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Relay;

/// <summary>
/// The peer filter, safe by default. The server here listens on 10.0.0.5 (3478, 5349) and
/// 2001:db8:1::5 (3478), relays from 10.0.0.5 and 2001:db8:1::5 on 49152-65535, and is
/// advertised as 1.2.3.4 (a public address, so the own-address rules are seen on their own).
/// </summary>
public sealed class PeerFilterTests
{
    private const int RelayMin = 49152;
    private const int RelayMax = 65535;

    private static readonly StunAddress[] Listeners =
    [
        At("10.0.0.5", 3478),
        At("10.0.0.5", 5349),
        At("2001:db8:1::5", 3478),
    ];

    private static readonly StunAddress[] OwnAddresses =
    [
        At("10.0.0.5", 0),
        At("2001:db8:1::5", 0),
        At("1.2.3.4", 0),
    ];

    public static TheoryData<string, int> DeniedByDefault => new()
    {
        // loopback, every spelling
        { "127.0.0.1", 9 },
        { "127.1.2.3", 9 },
        { "127.255.255.255", 9 },
        { "::1", 9 },
        { "::ffff:127.0.0.1", 9 },
        { "::ffff:7f00:1", 9 },
        { "::127.0.0.1", 9 },
        { "::ffff:0:127.0.0.1", 9 },
        { "2002:7f00:1::", 9 },
        { "2002:7f00:1:ffff:ffff:ffff:ffff:ffff", 9 },
        { "64:ff9b::7f00:1", 9 },
        { "64:ff9b:1::7f00:1", 9 },
        { "2001:0:4136:e378:8000:f227:80ff:fffe", 9 },

        // unspecified (CVE-2020-26262) and port 0
        { "0.0.0.0", 9 },
        { "0.1.2.3", 9 },
        { "::", 9 },
        { "::ffff:0.0.0.0", 9 },
        { "2002::", 9 },
        { "64:ff9b::", 9 },
        { "8.8.8.8", 0 },
        { "2606:4700::1111", 0 },

        // private and shared
        { "10.0.0.1", 40000 },
        { "::ffff:10.0.0.1", 40000 },
        { "::10.0.0.1", 40000 },
        { "2002:a00:1::1", 40000 },
        { "64:ff9b::a00:1", 40000 },
        { "64:ff9b:1::a00:1", 40000 },
        { "172.16.5.4", 40000 },
        { "172.31.255.255", 40000 },
        { "::ffff:172.16.5.4", 40000 },
        { "192.168.1.1", 40000 },
        { "2002:c0a8:101::", 40000 },
        { "100.64.0.1", 40000 },
        { "100.127.255.254", 40000 },
        { "fc00::1", 40000 },
        { "fd12:3456:789a::1", 40000 },

        // link-local and cloud metadata
        { "169.254.169.254", 80 },
        { "::ffff:169.254.169.254", 80 },
        { "::169.254.169.254", 80 },
        { "2002:a9fe:a9fe::", 80 },
        { "64:ff9b::a9fe:a9fe", 80 },
        { "64:ff9b:1::a9fe:a9fe", 80 },
        { "fd00:ec2::254", 80 },
        { "fe80::1", 80 },
        { "fe80::a9fe:a9fe", 80 },
        { "fec0::1", 80 },

        // multicast, broadcast, reserved, documentation and benchmarking
        { "ff02::1", 5353 },
        { "ff05::1:3", 547 },
        { "224.0.0.1", 5353 },
        { "239.255.255.250", 1900 },
        { "255.255.255.255", 67 },
        { "240.0.0.1", 40000 },
        { "192.0.0.8", 40000 },
        { "192.0.2.1", 40000 },
        { "198.51.100.1", 40000 },
        { "203.0.113.1", 40000 },
        { "198.18.0.1", 40000 },
        { "192.88.99.1", 40000 },
        { "2001:db8::1", 40000 },
        { "100::1", 40000 },

        // transition prefixes themselves, even around a public IPv4
        { "2001:0:4136:e378:8000:63bf:3fff:fdd2", 40000 },
        { "2002:808:808::", 40000 },
        { "64:ff9b::808:808", 40000 },
        { "::8.8.8.8", 40000 },

        // the server itself
        { "10.0.0.5", 3478 },
        { "10.0.0.5", 5349 },
        { "::ffff:10.0.0.5", 3478 },
        { "2002:a00:5::", 3478 },
        { "2001:db8:1::5", 3478 },
        { "10.0.0.5", 22 },
        { "1.2.3.4", 22 },
        { "1.2.3.4", 3478 },
        { "::ffff:1.2.3.4", 22 },
        { "2002:102:304::", 22 },
        { "64:ff9b::102:304", 22 },
        { "2001:db8:1::5", 22 },
    };

    public static TheoryData<string, int> PublicPeers => new()
    {
        { "8.8.8.8", 53 },
        { "1.1.1.1", 443 },
        { "1.2.3.5", 22 },
        { "93.184.216.34", 40000 },
        { "2606:4700::1111", 443 },
        { "2a00:1450:4001:80b::200e", 3478 },

        // the IPv4 node itself, not a tunnel to it (RFC 4291 §2.5.5.2): judged as 8.8.8.8
        { "::ffff:8.8.8.8", 40000 },
    };

    [Theory]
    [MemberData(nameof(DeniedByDefault))]
    public void DefaultFilter_DeniesEveryEncodingOfInternalAddresses(string ip, int port)
    {
        PeerFilter filter = DefaultFilter(allowLoopback: false);

        PeerVerdict verdict = filter.Evaluate(At(ip, port));

        Assert.False(PeerFilter.Allows(verdict), $"[{ip}]:{port} was {verdict}");
        Assert.False(filter.IsAllowed(At(ip, port)));
    }

    [Theory]
    [MemberData(nameof(PublicPeers))]
    public void DefaultFilter_AllowsPublicPeers(string ip, int port)
    {
        PeerFilter filter = DefaultFilter(allowLoopback: false);

        Assert.Equal(PeerVerdict.Allowed, filter.Evaluate(At(ip, port)));
        Assert.True(filter.IsAllowed(At(ip, port)));
    }

    [Theory]
    [InlineData("0.0.0.0", 9, nameof(PeerVerdict.DeniedUnspecified))]
    [InlineData("::", 9, nameof(PeerVerdict.DeniedUnspecified))]
    [InlineData("::ffff:0.0.0.0", 9, nameof(PeerVerdict.DeniedUnspecified))]
    [InlineData("8.8.8.8", 0, nameof(PeerVerdict.DeniedUnspecified))]
    [InlineData("10.0.0.5", 3478, nameof(PeerVerdict.DeniedOwnListener))]
    [InlineData("::ffff:10.0.0.5", 3478, nameof(PeerVerdict.DeniedOwnListener))]
    [InlineData("2001:db8:1::5", 3478, nameof(PeerVerdict.DeniedOwnListener))]
    [InlineData("10.0.0.5", 22, nameof(PeerVerdict.DeniedOwnAddress))]
    [InlineData("1.2.3.4", 22, nameof(PeerVerdict.DeniedOwnAddress))]
    [InlineData("2002:102:304::", 22, nameof(PeerVerdict.DeniedOwnAddress))]
    [InlineData("10.0.0.5", 50000, nameof(PeerVerdict.AllowedOwnRelay))]
    [InlineData("1.2.3.4", 65535, nameof(PeerVerdict.AllowedOwnRelay))]
    [InlineData("2001:db8:1::5", 49152, nameof(PeerVerdict.AllowedOwnRelay))]
    [InlineData("127.0.0.1", 9, nameof(PeerVerdict.DeniedByDenyList))]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", 40000, nameof(PeerVerdict.DeniedByDenyList))]
    [InlineData("8.8.8.8", 53, nameof(PeerVerdict.Allowed))]
    public void Evaluate_NamesTheDecidingRule(string ip, int port, string expected)
    {
        Assert.Equal(Enum.Parse<PeerVerdict>(expected), DefaultFilter(allowLoopback: false).Evaluate(At(ip, port)));
    }

    [Fact]
    public void OwnRelayAddress_IsAllowedOnRelayPortsEvenWhenPrivate()
    {
        PeerFilter filter = DefaultFilter(allowLoopback: false);

        Assert.True(filter.IsAllowed(At("10.0.0.5", 50000)));
        Assert.True(filter.IsAllowed(At("10.0.0.5", RelayMin)));
        Assert.True(filter.IsAllowed(At("10.0.0.5", RelayMax)));
        Assert.False(filter.IsAllowed(At("10.0.0.5", RelayMin - 1)));
        Assert.False(filter.IsAllowed(At("10.0.0.5", 22)));
        Assert.False(filter.IsAllowed(At("10.0.0.6", 50000)));
    }

    [Fact]
    public void ListenerInsideRelayRange_IsStillDenied()
    {
        var filter = new PeerFilter(PeerFilter.DefaultDenied, [], [At("10.0.0.5", 50000)], [At("10.0.0.5", 0)], RelayMin, RelayMax, allowLoopback: false);

        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("10.0.0.5", 50000)));
        Assert.Equal(PeerVerdict.AllowedOwnRelay, filter.Evaluate(At("10.0.0.5", 50001)));
    }

    [Fact]
    public void AllowLoopback_AllowsLoopbackButNotOwnListenerOrPrivate()
    {
        var filter = new PeerFilter(
            PeerFilter.DefaultDenied,
            [],
            [At("127.0.0.1", 3478), At("::1", 3478)],
            [At("127.0.0.1", 0), At("::1", 0)],
            RelayMin,
            RelayMax,
            allowLoopback: true);

        Assert.Equal(PeerVerdict.AllowedLoopback, filter.Evaluate(At("127.0.0.1", 9)));
        Assert.Equal(PeerVerdict.AllowedLoopback, filter.Evaluate(At("127.0.0.2", 9)));
        Assert.Equal(PeerVerdict.AllowedLoopback, filter.Evaluate(At("::1", 9)));
        Assert.Equal(PeerVerdict.AllowedOwnRelay, filter.Evaluate(At("127.0.0.1", 50000)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("127.0.0.1", 3478)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("::1", 3478)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("::ffff:127.0.0.1", 3478)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("2002:7f00:1::", 3478)));
        Assert.False(filter.IsAllowed(At("10.0.0.1", 9)));
        Assert.False(filter.IsAllowed(At("169.254.169.254", 80)));
        Assert.False(filter.IsAllowed(At("0.0.0.0", 9)));
        Assert.False(filter.IsAllowed(At("::", 9)));
        Assert.True(filter.IsAllowed(At("8.8.8.8", 53)));
    }

    [Fact]
    public void AllowLoopbackOff_DeniesLoopbackEvenWhenNotOnTheDenyList()
    {
        var filter = new PeerFilter([], [], [At("127.0.0.1", 3478)], [At("127.0.0.1", 0)], RelayMin, RelayMax, allowLoopback: false);

        Assert.Equal(PeerVerdict.DeniedOwnAddress, filter.Evaluate(At("127.0.0.1", 9)));
    }

    [Fact]
    public void WildcardListener_CoversEveryOwnAddressAndLoopbackOnItsPort()
    {
        var filter = new PeerFilter(
            PeerFilter.DefaultDenied,
            [IpPrefix.Parse("10.0.0.0/8")],
            [At("0.0.0.0", 3478), At("::", 5349)],
            [At("10.0.0.5", 0), At("1.2.3.4", 0)],
            RelayMin,
            RelayMax,
            allowLoopback: true);

        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("10.0.0.5", 3478)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("1.2.3.4", 3478)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("127.0.0.1", 3478)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("::1", 5349)));
        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("1.2.3.4", 5349)));
        Assert.Equal(PeerVerdict.AllowedLoopback, filter.Evaluate(At("127.0.0.1", 3479)));
        Assert.Equal(PeerVerdict.Allowed, filter.Evaluate(At("8.8.8.8", 3478)));
    }

    [Fact]
    public void AllowedPrefix_OverridesTheDenyList_ButNotForAnotherSpellingOfIt()
    {
        var filter = new PeerFilter(
            PeerFilter.DefaultDenied,
            [IpPrefix.Parse("10.1.0.0/16"), IpPrefix.Parse("fd00:1::/32")],
            Listeners,
            OwnAddresses,
            RelayMin,
            RelayMax,
            allowLoopback: false);

        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("10.1.2.3", 40000)));
        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("::ffff:10.1.2.3", 40000)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("2002:a01:203::", 40000)));
        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("fd00:1::7", 40000)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("10.2.0.1", 40000)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("fd00:2::7", 40000)));
    }

    [Fact]
    public void AllowedLocalUseNat64Prefix_StillJudgesTheIPv4OfEveryLayout()
    {
        var filter = new PeerFilter(PeerFilter.DefaultDenied, [IpPrefix.Parse("64:ff9b:1::/48")], Listeners, OwnAddresses, RelayMin, RelayMax, allowLoopback: false);

        // 169.254.169.254 in the /64 layout, 0.0.8.8 in the last 32 bits.
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("64:ff9b:1:0:a9:fea9:fe00:808", 40000)));

        // 8.8.8.8 in the /48 layout (and 8.8.0.0 in the /64, 8.8.8.8 elsewhere): public in every reading.
        Assert.True(filter.IsAllowed(At("64:ff9b:1:808:8:808:808:808", 40000)));
    }

    [Fact]
    public void AllowedPrefix_DoesNotOpenOwnListenerOrUnspecified()
    {
        var filter = new PeerFilter(
            PeerFilter.DefaultDenied,
            [IpPrefix.Parse("0.0.0.0/0"), IpPrefix.Parse("::/0")],
            Listeners,
            OwnAddresses,
            RelayMin,
            RelayMax,
            allowLoopback: false);

        Assert.Equal(PeerVerdict.DeniedOwnListener, filter.Evaluate(At("10.0.0.5", 3478)));
        Assert.Equal(PeerVerdict.DeniedUnspecified, filter.Evaluate(At("0.0.0.0", 9)));
        Assert.Equal(PeerVerdict.DeniedUnspecified, filter.Evaluate(At("::", 9)));
        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("127.0.0.1", 9)));
    }

    [Fact]
    public void AllowedIPv6Prefix_DoesNotOpenTheIPv4ItEmbeds()
    {
        var filter = new PeerFilter(
            PeerFilter.DefaultDenied,
            [IpPrefix.Parse("2000::/3"), IpPrefix.Parse("::ffff:0:0/96"), IpPrefix.Parse("64:ff9b::/96")],
            Listeners,
            OwnAddresses,
            RelayMin,
            RelayMax,
            allowLoopback: false);

        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("2002:7f00:1::", 9)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("2002:a9fe:a9fe::", 80)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("2001:0:4136:e378:8000:f227:80ff:fffe", 9)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("::ffff:10.0.0.1", 9)));
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("64:ff9b::a9fe:a9fe", 80)));
        Assert.Equal(PeerVerdict.DeniedOwnAddress, filter.Evaluate(At("2002:102:304::", 22)));
        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("2002:808:808::", 53)));
        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("64:ff9b::808:808", 53)));
        Assert.Equal(PeerVerdict.AllowedByAllowList, filter.Evaluate(At("2606:4700::1111", 443)));
    }

    [Fact]
    public void Teredo_WithDeniedServerOrClient_IsDeniedEvenWithoutTheTeredoPrefix()
    {
        var filter = new PeerFilter([IpPrefix.Parse("10.0.0.0/8")], [], Listeners, OwnAddresses, RelayMin, RelayMax, allowLoopback: false);

        // server 10.0.0.1, client 192.0.2.45:40000
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("2001:0:a00:1:8000:63bf:3fff:fdd2", 9)));
        // server 65.54.227.120, client 10.0.0.1:3544
        Assert.Equal(PeerVerdict.DeniedByDenyList, filter.Evaluate(At("2001:0:4136:e378:8000:f227:f5ff:fffe", 9)));
        Assert.Equal(PeerVerdict.Allowed, filter.Evaluate(At("2001:0:4136:e378:8000:63bf:3fff:fdd2", 9)));
    }

    [Fact]
    public void DefaultDenied_HoldsEturnalsListAndTheTransitionPrefixes()
    {
        string[] required =
        [
            "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
            "192.0.0.0/24", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/15", "224.0.0.0/4",
            "240.0.0.0/4", "0.0.0.0/8", "::1/128", "::/128", "64:ff9b::/96", "64:ff9b:1::/48", "fc00::/7",
            "fe80::/10", "ff00::/8", "2001::/32", "2002::/16", "::ffff:0:0/96", "100::/64", "2001:db8::/32", "fec0::/10",
        ];

        foreach (string prefix in required)
        {
            Assert.Contains(IpPrefix.Parse(prefix), PeerFilter.DefaultDenied);
        }

        Assert.Throws<NotSupportedException>(() => ((IList<IpPrefix>)PeerFilter.DefaultDenied).Add(IpPrefix.Parse("8.8.8.8")));
    }

    [Theory]
    [InlineData(0, 65535)]
    [InlineData(49152, 65536)]
    [InlineData(60000, 50000)]
    public void Constructor_RejectsBadRelayRange(int min, int max)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PeerFilter([], [], [], [], min, max, allowLoopback: false));
    }

    [Fact]
    public void Evaluate_DefaultAddress_IsDenied()
    {
        Assert.Equal(PeerVerdict.DeniedUnspecified, DefaultFilter(allowLoopback: true).Evaluate(default));
    }

    internal static PeerFilter DefaultFilter(bool allowLoopback)
        => new(PeerFilter.DefaultDenied, [], Listeners, OwnAddresses, RelayMin, RelayMax, allowLoopback);

    internal static StunAddress At(string ip, int port) => StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));
}
