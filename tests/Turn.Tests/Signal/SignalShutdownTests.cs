using System.Diagnostics;
using System.Net.WebSockets;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>What connected clients see when the server stops or closes them itself.</summary>
public sealed class SignalShutdownTests
{
    [Fact]
    public async Task Stop_WithOpenConnections_ClosesThemPromptlyWithServerStopping()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient idle = await server.ConnectAsync();
        var clock = Stopwatch.StartNew();

        await server.StopAsync(TimeSpan.FromSeconds(5));

        await Task.WhenAll(ann.Ended, idle.Ended).WaitAsync(SignalTestServer.Timeout);
        TimeSpan took = clock.Elapsed;
        string seen = string.Join("; ", new[] { ann, idle }.Select(c => $"close {c.CloseStatus?.ToString() ?? "none"} \"{c.CloseDescription}\" {c.Failure?.Message}"));
        Assert.True(
            took < TimeSpan.FromSeconds(3) && ann.CloseStatus == WebSocketCloseStatus.EndpointUnavailable && idle.CloseStatus == WebSocketCloseStatus.EndpointUnavailable,
            $"stopping took {took.TotalSeconds:F1} s (of the 5 s allowed) with two signaling connections open; they saw: {seen}; expected 1001 \"server stopping\" at once");
        Assert.Equal("server stopping", ann.CloseDescription);
    }

    [Fact]
    public async Task Resume_FromElsewhere_ClosesTheOldConnectionWithResumedElsewhere()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.JoinAsync("room");
        await ann.SendAsync("""{"type":"ping","id":"queued before the takeover"}""");
        await ann.ExpectAsync("pong");

        await using SignalTestClient again = await server.ConnectAsync();
        await again.ResumeAsync(ann.ResumeToken);

        await ann.Ended.WaitAsync(SignalTestServer.Timeout);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ann.CloseStatus);
        Assert.Equal("resumed elsewhere", ann.CloseDescription);
        Assert.True(server.Peer("room", ann.Id)!.Connected);
    }
}
