using System.Net.Sockets;
using System.Net;
using System.Security.Cryptography;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Server;

public class StunRequestHandlerTests
{
    private static readonly StunAddress Client = StunAddress.FromIPEndPoint(IPEndPoint.Parse("198.51.100.7:40000"));
    private static readonly StunAddress Local = StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.1:3478"));

    private static readonly NatBehaviorAddresses Grid = new(
        StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.1:3478")),
        StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.2:3478")),
        3479);

    private readonly byte[] _response = new byte[2048];

    [Fact]
    public void Binding_OverUdp_AnswersXorMappedAddressAndEchoesFingerprint_WithoutSoftware()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn test", null));
        byte[] request = BindingRequest();

        HandleResult result = handler.Handle(request, Udp(), _response);

        Assert.Equal(Outcome.Answered, result.Outcome);
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response));
        Assert.Equal(StunClass.SuccessResponse, response.Class);
        Assert.Equal(StunMethod.Binding, response.Method);
        Assert.True(response.TransactionId.SequenceEqual(request.AsSpan(8, 12)));
        Assert.True(response.TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> xor));
        Assert.True(AddressAttribute.TryReadXor(xor, response.CookieAndTransactionId, out StunAddress mapped));
        Assert.Equal(Client, mapped);
        Assert.False(response.Contains(StunAttributeType.Software));
        Assert.True(response.FingerprintOffset > 0);
        Assert.False(response.Contains(StunAttributeType.OtherAddress));
        Assert.Equal(20 + 12 + 8, result.Length);
    }

    [Theory]
    [InlineData("198.51.100.7:5000", true, 32)]
    [InlineData("[2001:db8::7]:5000", true, 44)]
    [InlineData("198.51.100.7:5000", false, 56)]
    public void BareBindingRequest_OfTwentyBytes_GetsAnAnswerOfKnownSize(string source, bool rfc8489, int expected)
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn test", null));
        byte[] request = new byte[20];
        StunWriter.Create(request, StunMethod.Binding, StunClass.Request, RandomNumberGenerator.GetBytes(12));
        if (!rfc8489)
        {
            // RFC 3489: no magic cookie, a 16-byte transaction id.
            RandomNumberGenerator.Fill(request.AsSpan(4, 4));
        }

        var context = new RequestContext(TransportProtocol.Udp, StunAddress.FromIPEndPoint(IPEndPoint.Parse(source)), Local, -1);
        HandleResult result = handler.Handle(request, context, _response);

        Assert.Equal(Outcome.Answered, result.Outcome);
        Assert.Equal(expected, result.Length);
    }

    [Fact]
    public void Binding_WithoutFingerprint_IsAnsweredWithTheMappedAddressAlone()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn test", null));
        byte[] request = new byte[20];
        var writer = StunWriter.Create(request, StunMethod.Binding, StunClass.Request, RandomNumberGenerator.GetBytes(12));

        HandleResult result = handler.Handle(request.AsSpan(0, writer.Length), Udp(), _response);

        // 20 bytes in, 32 out: the least a Binding answer can be (RFC 8489 §6.3.1), so a spoofed request buys 1.6 times its size.
        Assert.Equal(Outcome.Answered, result.Outcome);
        Assert.Equal(20 + 12, result.Length);
    }

    [Fact]
    public void Binding_WithIpv6Source_MapsIpv6()
    {
        var handler = new StunRequestHandler(new StunServerSettings("", null));
        var source = StunAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8::5]:6000"));

        HandleResult result = handler.Handle(BindingRequest(), new RequestContext(TransportProtocol.Tcp, source, Local, -1), _response);

        StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response);
        response.TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> xor);
        Assert.True(AddressAttribute.TryReadXor(xor, response.CookieAndTransactionId, out StunAddress mapped));
        Assert.Equal(source, mapped);
        Assert.False(response.Contains(StunAttributeType.Software));
    }

    [Fact]
    public void Request_WithUnknownComprehensionRequiredAttribute_Returns420ListingIt()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] request = BindingRequest((ref StunWriter w) =>
        {
            w.AddUInt32((StunAttributeType)0x7F01, 1);
            w.AddUInt32((StunAttributeType)0xC001, 1);
        });

        HandleResult result = handler.Handle(request, Udp(), _response);

        Assert.Equal(Outcome.Rejected, result.Outcome);
        AssertError(result, 420);
        StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response);
        Assert.True(response.TryGetAttribute(StunAttributeType.UnknownAttributes, out ReadOnlySpan<byte> list));
        Span<ushort> types = stackalloc ushort[4];
        Assert.True(UnknownAttributes.TryRead(list, types, out int count));
        Assert.Equal(1, count);
        Assert.Equal(0x7F01, types[0]);
    }

    [Fact]
    public void ChangeRequest_WithoutSecondAddress_Returns420()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] request = BindingRequest((ref StunWriter w) => w.AddUInt32(StunAttributeType.ChangeRequest, NatBehaviorAttributes.ChangeIpFlag));

        HandleResult result = handler.Handle(request, Udp(), _response);

        AssertError(result, 420);
    }

    [Fact]
    public void ChangeRequest_WithNoFlagSet_IsAnsweredByASingleAddressServer()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] request = BindingRequest((ref StunWriter w) => w.AddUInt32(StunAttributeType.ChangeRequest, 0));

        HandleResult result = handler.Handle(request, Udp(), _response);

        Assert.Equal(Outcome.Answered, result.Outcome);
    }

    [Theory]
    [InlineData(0u, 0)]
    [InlineData(NatBehaviorAttributes.ChangePortFlag, 1)]
    [InlineData(NatBehaviorAttributes.ChangeIpFlag, 2)]
    [InlineData(NatBehaviorAttributes.ChangeIpFlag | NatBehaviorAttributes.ChangePortFlag, 3)]
    public void ChangeRequest_WithSecondAddress_AnswersFromTheAskedRole(uint flags, int expectedRole)
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", Grid));
        byte[] request = BindingRequest((ref StunWriter w) => w.AddUInt32(StunAttributeType.ChangeRequest, flags));

        HandleResult result = handler.Handle(request, new RequestContext(TransportProtocol.Udp, Client, Local, 0), _response);

        Assert.Equal(Outcome.Answered, result.Outcome);
        Assert.Equal(expectedRole, result.ResponseRole);
        StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response);
        Assert.Equal(Grid[expectedRole], ReadAddress(response, StunAttributeType.ResponseOrigin));
        Assert.Equal(StunAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.2:3479")), ReadAddress(response, StunAttributeType.OtherAddress));
    }

    [Fact]
    public void OtherAddress_FromAlternateSocket_IsThePrimary()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", Grid));

        HandleResult result = handler.Handle(BindingRequest(), new RequestContext(TransportProtocol.Udp, Client, Grid[3], 3), _response);

        StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response);
        Assert.Equal(Grid[0], ReadAddress(response, StunAttributeType.OtherAddress));
        Assert.Equal(Grid[3], ReadAddress(response, StunAttributeType.ResponseOrigin));
    }

    [Fact]
    public void ChangeRequest_OverTcp_Returns400()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", Grid));
        byte[] request = BindingRequest((ref StunWriter w) => w.AddUInt32(StunAttributeType.ChangeRequest, NatBehaviorAttributes.ChangeIpFlag));

        HandleResult result = handler.Handle(request, new RequestContext(TransportProtocol.Tcp, Client, Local, 0), _response);

        AssertError(result, 400);
    }

    [Fact]
    public void ResponsePort_WithSecondAddress_RedirectsTheAnswer()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", Grid));
        byte[] request = BindingRequest((ref StunWriter w) => w.AddUInt16Reserved(StunAttributeType.ResponsePort, 5555));

        HandleResult result = handler.Handle(request, new RequestContext(TransportProtocol.Udp, Client, Local, 0), _response);

        Assert.Equal(Outcome.Answered, result.Outcome);
        Assert.Equal(5555, result.ResponsePort);
    }

    [Fact]
    public void Padding_WithSecondAddress_IsAnsweredWithPadding()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", Grid));
        byte[] request = BindingRequest((ref StunWriter w) => w.AddBytes(StunAttributeType.Padding, new byte[500]));

        HandleResult result = handler.Handle(request, new RequestContext(TransportProtocol.Udp, Client, Local, 0), _response);

        StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response);
        Assert.True(response.TryGetAttribute(StunAttributeType.Padding, out ReadOnlySpan<byte> padding));
        Assert.Equal(500, padding.Length);
    }

    [Fact]
    public void ClassicRfc3489Request_GetsMappedSourceAndChangedAddressWithoutFingerprint()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] request = new byte[20];
        request[1] = 0x01;
        RandomNumberGenerator.Fill(request.AsSpan(4, 16));
        request[4] = 0x99;

        HandleResult result = handler.Handle(request, Udp(), _response);

        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response));
        Assert.False(response.HasMagicCookie);
        Assert.True(response.CookieAndTransactionId.SequenceEqual(request.AsSpan(4, 16)));
        Assert.Equal(Client, ReadAddress(response, StunAttributeType.MappedAddress));
        Assert.Equal(Local, ReadAddress(response, StunAttributeType.SourceAddress));
        Assert.Equal(Local, ReadAddress(response, StunAttributeType.ChangedAddress));
        Assert.False(response.Contains(StunAttributeType.XorMappedAddress));
        Assert.Equal(-1, response.FingerprintOffset);
    }

    [Fact]
    public void BindingIndication_IsIgnored()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] indication = new byte[64];
        var writer = StunWriter.Create(indication, StunMethod.Binding, StunClass.Indication, new byte[12]);
        writer.AddFingerprint();

        HandleResult result = handler.Handle(indication.AsSpan(0, writer.Length), Udp(), _response);

        Assert.Equal(Outcome.Ignored, result.Outcome);
        Assert.Equal(0, result.Length);
    }

    [Fact]
    public void UnsupportedMethod_Returns400()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] request = new byte[64];
        var writer = StunWriter.Create(request, (StunMethod)0x0FF, StunClass.Request, new byte[12]);

        HandleResult result = handler.Handle(request.AsSpan(0, writer.Length), Udp(), _response);

        AssertError(result, 400);
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x01, 0x00 }, (int)Outcome.DroppedTruncated)]
    [InlineData(new byte[] { 0x80, 0x01, 0x00, 0x00 }, (int)Outcome.DroppedNotStun)]
    [InlineData(new byte[] { 0x00, 0x01, 0x00, 0x03, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0 }, (int)Outcome.DroppedMalformed)]
    public void BadDatagram_IsDroppedAndClassified(byte[] datagram, int expected)
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));

        HandleResult result = handler.Handle(datagram, Udp(), _response);

        Assert.Equal((Outcome)expected, result.Outcome);
        Assert.Equal(0, result.Length);
    }

    [Fact]
    public void BadFingerprint_IsDropped()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", null));
        byte[] request = BindingRequest();
        request[^1] ^= 0xFF;

        Assert.Equal(Outcome.DroppedMalformed, handler.Handle(request, Udp(), _response).Outcome);
    }

    [Fact]
    public void Binding_AllocatesNothing()
    {
        var handler = new StunRequestHandler(new StunServerSettings("turn", Grid));
        byte[] request = BindingRequest();
        var context = new RequestContext(TransportProtocol.Udp, Client, Local, 0);
        for (int i = 0; i < 1000; i++)
        {
            handler.Handle(request, context, _response);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            handler.Handle(request, context, _response);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static RequestContext Udp() => new(TransportProtocol.Udp, Client, Local, -1);

    private static byte[] BindingRequest(StunWriterAction? attributes = null)
    {
        byte[] buffer = new byte[1500];
        var writer = StunWriter.Create(buffer, StunMethod.Binding, StunClass.Request, RandomNumberGenerator.GetBytes(12));
        attributes?.Invoke(ref writer);
        writer.AddFingerprint();
        return buffer.AsSpan(0, writer.Length).ToArray();
    }

    private void AssertError(HandleResult result, int code)
    {
        Assert.Equal(StunParseStatus.Ok, StunMessage.TryParse(_response.AsSpan(0, result.Length), out StunMessage response));
        Assert.Equal(StunClass.ErrorResponse, response.Class);
        Assert.True(response.TryGetAttribute(StunAttributeType.ErrorCode, out ReadOnlySpan<byte> value));
        Assert.True(ErrorCodeAttribute.TryRead(value, out int actual, out _));
        Assert.Equal(code, actual);
    }

    private static StunAddress ReadAddress(in StunMessage message, StunAttributeType type)
    {
        Assert.True(message.TryGetAttribute(type, out ReadOnlySpan<byte> value), $"{type} missing");
        Assert.True(AddressAttribute.TryRead(value, out StunAddress address));
        return address;
    }
}

internal delegate void StunWriterAction(ref StunWriter writer);
