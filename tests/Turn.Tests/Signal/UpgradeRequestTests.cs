using System.Buffers;
using System.Text;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// The signaling upgrade's request parser: what it takes (RFC 6455 §4.2.1, the plain form) and
/// that everything else, valid HTTP or not, is left to the HTTP server.
/// </summary>
public sealed class UpgradeRequestTests
{
    private const string Path = "/signal";

    private const string Plain =
        "GET /signal HTTP/1.1\r\n" +
        "Host: 127.0.0.1:8080\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n";

    private static UpgradeVerdict Parse(string text, out UpgradeRequest? request)
        => UpgradeRequest.Parse(Encoding.ASCII.GetBytes(text), Path, out request);

    [Fact]
    public void APlainUpgrade_IsTaken_WithTheRfcsAcceptValue()
    {
        Assert.Equal(UpgradeVerdict.Upgrade, Parse(Plain, out UpgradeRequest? request));
        Assert.Equal(Plain.Length, request!.HeadLength);
        Assert.Equal("127.0.0.1:8080", request.Host);
        Assert.Null(request.Origin);
        Assert.Null(request.ForwardedFor);
        Assert.False(request.OtherForwarding);

        // RFC 6455 §1.3's example.
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", request.Accept());
    }

    [Fact]
    public void WhatABrowserSends_IsTaken_AndTheBytesAfterTheHeadAreNotPartOfIt()
    {
        string browser =
            "GET /signal?v=1 HTTP/1.1\r\n" +
            "Host: turn.example.org\r\n" +
            "Connection: keep-alive, Upgrade\r\n" +
            "Pragma: no-cache\r\n" +
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
            "Upgrade: websocket\r\n" +
            "Origin: https://turn.example.org\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            "Accept-Encoding: gzip, deflate, br\r\n" +
            "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
            "X-Forwarded-For: 198.51.100.7\r\n" +
            "\r\n";
        Assert.Equal(UpgradeVerdict.Upgrade, Parse(browser + "\x81\x85frame", out UpgradeRequest? request));
        Assert.Equal(browser.Length, request!.HeadLength);
        Assert.Equal("https://turn.example.org", request.Origin);
        Assert.Equal("198.51.100.7", request.ForwardedFor);
        Assert.Equal("HSmrc0sMlYUkAGmm5OPpG2HaGWk=", request.Accept());
    }

    [Fact]
    public void APartialHead_ForThePath_NeedsMore_AtEveryLength()
    {
        for (int length = 0; length < Plain.Length; length++)
        {
            Assert.Equal(UpgradeVerdict.NeedMore, Parse(Plain[..length], out _));
        }
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("GET /signals HTTP/1.1\r\n")]
    [InlineData("GET /Signal HTTP/1.1\r\n")]
    [InlineData("POST /signal HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [InlineData("\x16\x03\x01")]
    [InlineData("GETX")]
    public void AnythingElse_IsKnownNotOurs_FromItsFirstBytes(string start)
    {
        Assert.Equal(UpgradeVerdict.NotOurs, Parse(start, out UpgradeRequest? request));
        Assert.Null(request);
    }

    [Theory]
    [InlineData("GET /signal HTTP/1.1\r\n", "GET /signal HTTP/1.0\r\n")]
    [InlineData("GET /signal HTTP/1.1\r\n", "GET /signal#x HTTP/1.1\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: h2c\r\n")]
    [InlineData("Upgrade: websocket\r\n", "")]
    [InlineData("Connection: Upgrade\r\n", "Connection: keep-alive\r\n")]
    [InlineData("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "Sec-WebSocket-Key: short\r\n")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "")]
    [InlineData("Host: 127.0.0.1:8080\r\n", "")]
    [InlineData("Host: 127.0.0.1:8080\r\n", "Host: 127.0.0.1:8080\r\nHost: evil.example\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: websocket\r\nContent-Length: 5\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: websocket\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: websocket\r\nX-Long: a\r\n folded\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: websocket\r\nBad Name: x\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: websocket\r\nX-Bin: \u00e9\r\n")]
    [InlineData("Upgrade: websocket\r\n", "Upgrade: websocket\r\nOrigin: https://a.example\r\nOrigin: https://b.example\r\n")]
    public void AnUpgradeTheParserDoesNotTake_IsLeftToHttp(string part, string replacement)
    {
        string changed = Plain.Replace(part, replacement, StringComparison.Ordinal);
        Assert.NotEqual(Plain, changed);
        Assert.Equal(UpgradeVerdict.NotOurs, UpgradeRequest.Parse(Encoding.Latin1.GetBytes(changed), Path, out UpgradeRequest? request));
        Assert.Null(request);
    }

    [Fact]
    public void AHeadLongerThanTheLimit_IsLeftToHttp()
    {
        string padded = Plain.Replace("\r\n\r\n", "\r\nX-Pad: " + new string('a', UpgradeRequest.MaxHeadLength) + "\r\n\r\n", StringComparison.Ordinal);
        Assert.Equal(UpgradeVerdict.NotOurs, Parse(padded, out _));
        Assert.Equal(UpgradeVerdict.NotOurs, Parse(padded[..(UpgradeRequest.MaxHeadLength + 10)], out _));
    }

    [Fact]
    public void AHeadInSeveralSegments_ParsesAsInOne()
    {
        byte[] bytes = Encoding.ASCII.GetBytes(Plain);
        var first = new Segment(bytes.AsMemory(0, 17));
        Segment last = first.Append(bytes.AsMemory(17, 40)).Append(bytes.AsMemory(57));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        Assert.Equal(UpgradeVerdict.Upgrade, UpgradeRequest.Parse(sequence, Path, out UpgradeRequest? request));
        Assert.Equal(Plain.Length, request!.HeadLength);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
