using System.Net.WebSockets;
using System.Text;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>Bad input gets an error and the connection lives on; limits hold; a slow reader is dropped.</summary>
public sealed class SignalGuardTests
{
    private static SignalOptions Small => new()
    {
        MaxPeersPerRoom = 2,
        ResumeGraceSeconds = 2,
        MessagesPerSecond = 5,
        MaxMessageBytes = 1024,
        SendQueueLength = 8,
    };

    [Theory]
    [InlineData("{")]
    [InlineData("not json")]
    [InlineData("""{"type":"ping"} trailing""")]
    [InlineData("""{"type":"ping",}""")]
    [InlineData("[1,2]")]
    [InlineData("\"ping\"")]
    [InlineData("""{"type":["ping"]}""")]
    [InlineData("""{"type":"ping","id":{"n":1}}""")]
    [InlineData("""{"type":"ping","id":[7]}""")]
    [InlineData("""{"type":"join","room":true}""")]
    [InlineData("""{"type":"message","to":{"id":"x"}}""")]
    public async Task BadJson_ReturnsBadJsonAndTheConnectionStillWorks(string text)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync(text);

        await ann.ExpectErrorAsync(SignalError.BadJson);
        await ann.SendAsync("""{"type":"ping","id":"after"}""");
        Assert.Equal("after", (await ann.ExpectAsync("pong")).Str("id"));
    }

    [Fact]
    public async Task UnknownType_ReturnsUnknownTypeWithTheIdAndTheConnectionStillWorks()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("room");

        await ann.SendAsync("""{"type":"subscribe","id":"u1","data":{}}""");

        Assert.Equal("u1", (await ann.ExpectErrorAsync(SignalError.UnknownType)).Str("id"));
        await ann.SendAsync("""{"type":"ping","id":"after"}""");
        Assert.Equal("after", (await ann.ExpectAsync("pong")).Str("id"));
    }

    [Fact]
    public async Task NumberWhereAStringBelongs_IsReadAsItsText()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync("""{"type":"ping","id":7}""");
        Assert.Equal("7", (await ann.ExpectAsync("pong")).Str("id"));

        await ann.SendAsync("""{"type":42,"id":8}""");
        Assert.Equal("8", (await ann.ExpectErrorAsync(SignalError.UnknownType)).Str("id"));
    }

    [Theory]
    [InlineData("""{}""")]
    [InlineData("""{"room":"r","id":"b1"}""")]
    [InlineData("""{"type":null,"to":"x"}""")]
    public async Task MissingType_ReturnsBadRequest(string text)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync(text);

        await ann.ExpectErrorAsync(SignalError.BadRequest);
        await ann.SendAsync("""{"type":"ping","id":"after"}""");
        Assert.Equal("after", (await ann.ExpectAsync("pong")).Str("id"));
    }

    [Fact]
    public async Task TooLarge_ReturnsTooLargeAndTheConnectionLivesOn()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        await ann.SendAsync($$"""{"type":"broadcast","data":"{{new string('x', 5000)}}"}""");

        await ann.ExpectErrorAsync(SignalError.TooLarge);
        await bob.ExpectNothingAsync();
        await ann.SendAsync("""{"type":"broadcast","data":"small"}""");
        Assert.Equal("\"small\"", (await bob.ExpectAsync("broadcast")).DataText);
        await ann.ExpectNothingAsync();
    }

    [Fact]
    public async Task TooLarge_AtTheLimitIsAcceptedAndOneByteMoreIsNot()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        string Message(int bytes)
        {
            string head = """{"type":"broadcast","data":" """.TrimEnd();
            string text = head + new string('y', bytes - head.Length - 2) + "\"}";
            Assert.Equal(bytes, Encoding.UTF8.GetByteCount(text));
            return text;
        }

        await ann.SendAsync(Message(Small.MaxMessageBytes));
        Assert.Equal(Small.MaxMessageBytes - 30, (await bob.ExpectAsync("broadcast")).Get("data").GetString()!.Length);

        await ann.SendAsync(Message(Small.MaxMessageBytes + 1));
        await ann.ExpectErrorAsync(SignalError.TooLarge);
        await bob.ExpectNothingAsync();
    }

    [Fact]
    public async Task TooLarge_InManyFrames_ReturnsTooLargeAndTheConnectionLivesOn()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();
        byte[] chunk = Encoding.UTF8.GetBytes(new string(' ', 700));

        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        await ann.Socket.SendAsync(Encoding.UTF8.GetBytes("""{"type":"ping","id":"big","pad":" """), WebSocketMessageType.Text, false, timeout.Token);
        for (int i = 0; i < 20; i++)
        {
            await ann.Socket.SendAsync(chunk, WebSocketMessageType.Text, false, timeout.Token);
        }

        await ann.Socket.SendAsync(Encoding.UTF8.GetBytes("\"}"), WebSocketMessageType.Text, true, timeout.Token);

        await ann.ExpectErrorAsync(SignalError.TooLarge);
        await ann.SendAsync("""{"type":"ping","id":"after"}""");
        Assert.Equal("after", (await ann.ExpectAsync("pong")).Str("id"));
    }

    [Fact]
    public async Task Flood_ReturnsRateLimitedAndTheConnectionLivesOn()
    {
        // The receiving peer's queue holds the whole burst: it reads, but not as fast as the server hands over.
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with { SendQueueLength = 32 });
        await FloodAsync(server, 40);
    }

    [Fact]
    public async Task Flood_WithTheDefaultSendQueue_ReturnsRateLimitedAndTheConnectionLivesOn()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with { SendQueueLength = new SignalOptions().SendQueueLength });
        await FloodAsync(server, 2000);
    }

    /// <summary>
    /// Sends <paramref name="count"/> addressed messages as fast as the socket takes them: the burst
    /// (twice the rate) gets through in order, the rest are dropped with at most one rate-limited
    /// error a second, and the connection carries on once tokens come back.
    /// </summary>
    private static async Task FloodAsync(SignalTestServer server, int count)
    {
        int rate = server.Options.MessagesPerSecond;
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        IReadOnlyList<ServerMessage> errors = [];
        try
        {
            for (int i = 0; i < count; i++)
            {
                await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":{{i}}}""");
            }

            // Wait for a token for the ping of the sync.
            await Task.Delay(2000 / rate);
            errors = await ann.SyncAsync();
        }
        catch (WebSocketException e)
        {
            await ann.Ended.WaitAsync(SignalTestServer.Timeout);
            Assert.Fail($"the flooding client was disconnected ({e.Message}; close {ann.CloseStatus} \"{ann.CloseDescription}\"); the server logged: {server.Log.Matching("closed")}");
        }

        double seconds = clock.Elapsed.TotalSeconds;
        IReadOnlyList<ServerMessage> relayed = await bob.SyncAsync();

        Assert.All(errors, e => Assert.True(e.Type == "error" && e.Str("code") == SignalError.RateLimited, e.Raw));
        Assert.InRange(errors.Count, 1, (int)Math.Ceiling(seconds) + 1);
        int most = (rate * 2) + (int)Math.Ceiling(seconds * rate);
        // The join took one token of the burst.
        int least = (rate * 2) - 1;
        Assert.True(relayed.Count >= least && relayed.Count <= most, $"{relayed.Count} of {count} got through in {seconds:F2} s; expected the rest of the burst ({least}) and at most {most}");
        int[] order = [.. relayed.Select(m => int.Parse(m.DataText, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(order.Order(), order);

        await Task.Delay(2000 / rate);
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"later"}""");
        Assert.Equal("\"later\"", (await bob.ExpectAsync("message")).DataText);
        Assert.Equal(WebSocketState.Open, ann.Socket.State);
    }

    [Fact]
    public async Task DeadPeer_ThatAnswersNoPing_IsDroppedAndKeepsItsSeat()
    {
        // Pings every second; a connection with no pong for three of them is dead.
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with { PingIntervalSeconds = 1, ResumeGraceSeconds = 60 });
        await using SignalTestClient ann = await server.JoinAsync("room");

        // A client that never reads never answers a ping; its socket stays open all the same.
        await using SignalTestClient silent = await server.ConnectAsync(read: false);
        await silent.SendAsync("""{"type":"join","room":"room"}""");
        string silentId = (await ann.NextOfTypeAsync("peer-joined")).Get("peer").GetProperty("id").GetString()!;

        // Three missed pongs take three seconds or so; a busy machine gets more.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (server.Peer("room", silentId) is { Connected: true } && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50);
        }

        Assert.True(server.Peer("room", silentId) is { Connected: false }, $"after {clock.Elapsed.TotalSeconds:F1} s the silent peer is still taken for alive");
    }

    [Fact]
    public async Task SlowReader_PastTheSendQueue_IsDisconnected()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with
        {
            MessagesPerSecond = 0, // no limit
            MaxMessageBytes = 64 * 1024,
            MaxPeersPerRoom = 3,
        });
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient watcher = await server.JoinAsync("room");
        await using SignalTestClient slow = await server.ConnectAsync(read: false);
        await slow.SendAsync("""{"type":"join","room":"room"}""");
        await ann.NextOfTypeAsync("peer-joined");
        await ann.NextOfTypeAsync("peer-joined");
        string slowId = (await watcher.NextOfTypeAsync("peer-joined")).Get("peer").GetProperty("id").GetString()!;
        string broadcast = $$"""{"type":"broadcast","data":"{{new string('z', 60 * 1024)}}"}""";

        // The slow client never reads: the kernel buffers fill, then its queue, then it is dropped.
        int sent = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (server.Peer("room", slowId) is { Connected: true })
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"still connected after {sent} broadcasts of 60 KiB");
            await ann.SendAsync(broadcast);
            await watcher.ExpectAsync("broadcast");
            sent++;
        }

        // The peer is away, not gone: the grace window still applies.
        Assert.NotNull(server.Peer("room", slowId));
        Assert.True(sent > Small.SendQueueLength, $"dropped after {sent} broadcasts");

        // What the client sees when it finally reads: the connection ends.
        byte[] buffer = new byte[128 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await slow.Socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (WebSocketException)
        {
            // Cut without a close frame: also disconnected.
        }

        Assert.NotEqual(WebSocketState.Open, slow.Socket.State);
        await ann.ExpectNothingAsync();
        Assert.Equal(1, server.Sweep(afterMs: server.PastGraceMs));
        Assert.Equal(slowId, (await ann.NextOfTypeAsync("peer-left")).Str("id"));
    }

    [Fact]
    public async Task PastTheAddressShareOfTheBudget_MessagesAreDropped_AndTheReaderStaysConnected()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with
        {
            MessagesPerSecond = 0, // no limit
            MaxMessageBytes = 64 * 1024,
            MaxPeersPerRoom = 3,
            SendQueueBytes = 4 << 20,
            MaxQueuedBytesPerAddress = 256 * 1024,
        });
        await using SignalTestClient ann = await SignalTestClient.ConnectAsync(server.Signal, from: System.Net.IPAddress.Parse("127.0.0.2"));
        await ann.JoinAsync("room");
        await using SignalTestClient slow = await SignalTestClient.ConnectAsync(server.Signal, read: false);
        await slow.SendAsync("""{"type":"join","room":"room"}""");
        string slowId = (await ann.NextOfTypeAsync("peer-joined")).Get("peer").GetProperty("id").GetString()!;
        string broadcast = $$"""{"type":"broadcast","data":"{{new string('z', 60 * 1024)}}"}""";

        // Far more than the kernel's buffers and the address's 256 KiB share: the rest is dropped.
        long peak = 0;
        for (int i = 0; i < 400; i++)
        {
            await ann.SendAsync(broadcast);
            peak = Math.Max(peak, server.Hub.QueuedBytes);
        }

        await ann.SyncAsync();
        Assert.True(server.Peer("room", slowId) is { Connected: true }, "the reader was disconnected, not just denied messages");
        Assert.InRange(peak, 1, (256 + 64) * 1024);
    }

    [Fact]
    public async Task BinaryFrame_WithInvalidUtf8InTheType_ReturnsBadJsonAndTheConnectionLivesOn()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("room");

        await ann.SendAsync([.. "{\"type\":\""u8, 0xFF, 0xFE, .. "\"}"u8], WebSocketMessageType.Binary);

        await ann.ExpectErrorAsync(SignalError.BadJson);
        await ann.SendAsync("""{"type":"ping","id":"after"}""");
        Assert.Equal("after", (await ann.ExpectAsync("pong")).Str("id"));
    }

    [Fact]
    public async Task BinaryFrame_WithInvalidUtf8InTheData_DoesNotBreakTheOtherPeers()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        await ann.SendAsync([.. "{\"type\":\"broadcast\",\"data\":\""u8, 0xC3, 0x28, .. "\"}"u8], WebSocketMessageType.Binary);
        await ann.SyncAsync();

        // Whatever the server makes of it, bob's connection must survive: a text frame that is not
        // UTF-8 makes a WebSocket client (browsers included) fail the connection.
        await SignalJoinTests.AssertAliveAsync(bob);
        await ann.SendAsync("""{"type":"broadcast","data":"still there?"}""");
        Assert.Equal("\"still there?\"", (await bob.NextOfTypeAsync("broadcast")).DataText);
    }
}
