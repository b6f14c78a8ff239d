using System.Net;
using System.Net.Sockets;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>MAPPED-ADDRESS (RFC 8489 §14.1) and the XOR form (§14.2, RFC 8656 §18.3, §18.5).</summary>
public sealed class AddressAttributeTests
{
    private static readonly byte[] CookieAndId = Convert.FromHexString("2112A442B7E7A701BC34D686FA87DFAE");

    [Theory]
    [InlineData("192.0.2.1", 32853)]
    [InlineData("0.0.0.0", 0)]
    [InlineData("255.255.255.255", 65535)]
    [InlineData("2001:db8:1234:5678:11:2233:4455:6677", 32853)]
    [InlineData("::1", 3478)]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1)]
    public void XorAddress_RoundTrips(string ip, int port)
    {
        StunAddress address = StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));
        byte[] value = new byte[AddressAttribute.ValueLength(address)];

        AddressAttribute.WriteXor(value, address, CookieAndId);

        Assert.Equal(address.IsIPv4 ? 8 : 20, value.Length);
        Assert.Equal(address.IsIPv4 ? AddressAttribute.FamilyIPv4 : AddressAttribute.FamilyIPv6, value[1]);
        Assert.Equal(port ^ 0x2112, (value[2] << 8) | value[3]);
        Assert.True(AddressAttribute.TryReadXor(value, CookieAndId, out StunAddress read));
        Assert.Equal(address, read);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), read.ToIPEndPoint());
    }

    [Theory]
    [InlineData("192.0.2.1", 32853)]
    [InlineData("2001:db8::1", 443)]
    public void PlainAddress_RoundTrips(string ip, int port)
    {
        StunAddress address = StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));
        byte[] value = new byte[AddressAttribute.ValueLength(address)];

        AddressAttribute.Write(value, address);

        Assert.Equal(0, value[0]);
        Assert.Equal(port, (value[2] << 8) | value[3]);
        Assert.Equal(IPAddress.Parse(ip).GetAddressBytes(), value.AsSpan(4).ToArray());
        Assert.True(AddressAttribute.TryRead(value, out StunAddress read));
        Assert.Equal(address, read);
    }

    [Fact]
    public void XorAddress_ThroughWriterAndParser_RoundTripsBothFamilies()
    {
        StunAddress v4 = new(AddressFamily.InterNetwork, 0xCB007109, 40000);
        StunAddress v6 = StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("2001:db8::42"), 50000));
        byte[] buffer = new byte[128];
        var writer = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.SuccessResponse, [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
        writer.AddXorAddress(StunAttributeType.XorRelayedAddress, v4);
        writer.AddXorAddress(StunAttributeType.XorRelayedAddress, v6);
        writer.AddXorAddress(StunAttributeType.XorMappedAddress, v6);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage message));
        var read = new List<StunAddress>();
        foreach (StunAttribute attribute in message.Attributes)
        {
            Assert.True(AddressAttribute.TryReadXor(attribute.Value, message.CookieAndTransactionId, out StunAddress address));
            read.Add(address);
        }

        Assert.Equal([v4, v6, v6], read);
    }

    [Theory]
    [InlineData("0001A147E112A6")]
    [InlineData("0001A147E112A64300")]
    [InlineData("0003A147E112A643")]
    [InlineData("0000A147E112A643")]
    [InlineData("0002A147E112A643")]
    [InlineData("0001A1470113A9FAA5D3F179BC25F4B5BED2B9D9")]
    [InlineData("")]
    public void WrongFamilyOrLength_IsRejected(string hex)
    {
        byte[] value = Convert.FromHexString(hex);
        Assert.False(AddressAttribute.TryRead(value, out _));
        Assert.False(AddressAttribute.TryReadXor(value, CookieAndId, out _));
    }

    [Fact]
    public void FamilyCodes_MapToAddressFamilies()
    {
        Assert.Equal(AddressFamily.InterNetwork, AddressAttribute.FamilyFromCode(0x01));
        Assert.Equal(AddressFamily.InterNetworkV6, AddressAttribute.FamilyFromCode(0x02));
        Assert.Null(AddressAttribute.FamilyFromCode(0x00));
        Assert.Null(AddressAttribute.FamilyFromCode(0x03));
    }

    [Theory]
    [InlineData("203.0.113.5", 5000)]
    [InlineData("2001:db8::7", 6000)]
    public void SocketAddress_RoundTrips(string ip, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(ip), port);
        SocketAddress socketAddress = endPoint.Serialize();
        StunAddress address = StunAddress.FromSocketAddress(socketAddress);
        Assert.Equal(StunAddress.FromIPEndPoint(endPoint), address);

        var target = new IPEndPoint(endPoint.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0).Serialize();
        address.WriteTo(target);
        Assert.Equal(endPoint, new IPEndPoint(IPAddress.Any, 0).Create(target));
    }
}
