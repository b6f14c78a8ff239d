using Turn.Wire;
using Xunit;

namespace Turn.Tests.Wire;

/// <summary>The fixed-layout TURN (RFC 8656 §18) and NAT behaviour (RFC 5780 §7) attributes.</summary>
public sealed class TurnAttributesTests
{
    [Fact]
    public void FixedAttributes_RoundTripThroughWriterAndParser()
    {
        byte[] buffer = new byte[256];
        var writer = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.Request, new byte[12]);
        writer.AddUInt16Reserved(StunAttributeType.ChannelNumber, 0x4ABC);
        writer.AddUInt32(StunAttributeType.Lifetime, 3600);
        writer.AddByteReserved(StunAttributeType.RequestedTransport, TurnAttributes.ProtocolUdp);
        writer.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6);
        writer.AddBytes(StunAttributeType.EvenPort, [0x80]);
        writer.AddBytes(StunAttributeType.ReservationToken, [1, 2, 3, 4, 5, 6, 7, 8]);
        writer.AddEmpty(StunAttributeType.DontFragment);
        TurnAttributes.WriteIcmp(writer.Reserve(StunAttributeType.Icmp, 8), 3, 4, 1280);
        writer.AddUInt32(StunAttributeType.ConnectionId, 0xCAFEF00D);
        writer.AddUInt32(StunAttributeType.ChangeRequest, NatBehaviorAttributes.ChangePortFlag);
        writer.AddUInt16Reserved(StunAttributeType.ResponsePort, 4000);
        writer.AddFingerprint();

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(writer.Written, out StunMessage m));
        Assert.True(m.TryGetAttribute(StunAttributeType.ChannelNumber, out ReadOnlySpan<byte> v));
        Assert.True(TurnAttributes.TryReadChannelNumber(v, out ushort channel));
        Assert.Equal(0x4ABC, channel);
        Assert.True(m.TryGetAttribute(StunAttributeType.Lifetime, out v));
        Assert.True(TurnAttributes.TryReadLifetime(v, out uint lifetime));
        Assert.Equal(3600u, lifetime);
        Assert.True(m.TryGetAttribute(StunAttributeType.RequestedTransport, out v));
        Assert.True(TurnAttributes.TryReadRequestedTransport(v, out byte protocol));
        Assert.Equal(17, protocol);
        Assert.True(m.TryGetAttribute(StunAttributeType.RequestedAddressFamily, out v));
        Assert.True(TurnAttributes.TryReadAddressFamily(v, out byte family));
        Assert.Equal(AddressAttribute.FamilyIPv6, family);
        Assert.True(m.TryGetAttribute(StunAttributeType.EvenPort, out v));
        Assert.True(TurnAttributes.TryReadEvenPort(v, out bool reserveNext));
        Assert.True(reserveNext);
        Assert.True(m.TryGetAttribute(StunAttributeType.ReservationToken, out v));
        Assert.True(TurnAttributes.TryReadReservationToken(v, out ulong token));
        Assert.Equal(0x0102030405060708UL, token);
        Assert.True(m.TryGetAttribute(StunAttributeType.DontFragment, out v));
        Assert.True(TurnAttributes.IsValidDontFragment(v));
        Assert.True(m.TryGetAttribute(StunAttributeType.Icmp, out v));
        Assert.True(TurnAttributes.TryReadIcmp(v, out byte icmpType, out byte icmpCode, out uint errorData));
        Assert.Equal((3, 4, 1280u), (icmpType, icmpCode, errorData));
        Assert.True(m.TryGetAttribute(StunAttributeType.ConnectionId, out v));
        Assert.True(TurnAttributes.TryReadConnectionId(v, out uint connectionId));
        Assert.Equal(0xCAFEF00Du, connectionId);
        Assert.True(m.TryGetAttribute(StunAttributeType.ChangeRequest, out v));
        Assert.True(NatBehaviorAttributes.TryReadChangeRequest(v, out bool changeIp, out bool changePort));
        Assert.False(changeIp);
        Assert.True(changePort);
        Assert.True(m.TryGetAttribute(StunAttributeType.ResponsePort, out v));
        Assert.True(NatBehaviorAttributes.TryReadResponsePort(v, out ushort port));
        Assert.Equal(4000, port);
    }

    [Fact]
    public void WrongSizes_AreRejected()
    {
        byte[] three = [1, 2, 3];
        byte[] five = [1, 2, 3, 4, 5];
        Assert.False(TurnAttributes.TryReadChannelNumber(three, out _));
        Assert.False(TurnAttributes.TryReadLifetime(five, out _));
        Assert.False(TurnAttributes.TryReadRequestedTransport(three, out _));
        Assert.False(TurnAttributes.TryReadAddressFamily([0x03, 0, 0, 0], out _));
        Assert.False(TurnAttributes.TryReadEvenPort([0x80, 0], out _));
        Assert.False(TurnAttributes.TryReadReservationToken(five, out _));
        Assert.False(TurnAttributes.IsValidDontFragment([0]));
        Assert.False(TurnAttributes.TryReadIcmp(five, out _, out _, out _));
        Assert.False(TurnAttributes.TryReadConnectionId(three, out _));
        Assert.False(NatBehaviorAttributes.TryReadChangeRequest(three, out _, out _));
        Assert.False(NatBehaviorAttributes.TryReadResponsePort(five, out _));
    }
}
