using System.Net;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// The HTTP fallback (long polls and posts) speaks the same protocol as the WebSocket: same
/// rooms, messages, errors, limits and resume, over plain requests.
/// </summary>
public sealed class SignalPollingTests
{
    [Fact]
    public async Task APollingPeer_SharesARoomWithAWebSocketPeer_BothWays()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.JoinAsync("lobby", "Ann");
        await using PollingTestClient bob = await PollingTestClient.OpenAsync(server.Http);

        ServerMessage joined = await bob.JoinAsync("lobby", "Bob");
        Assert.Equal(1, joined.Get("v").GetInt32());
        Assert.Equal(ann.Id, joined.Get("peers")[0].GetProperty("id").GetString());
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-joined")).Get("peer").GetProperty("id").GetString());

        await ann.SendAsync($$$"""{"type":"offer","to":"{{{bob.Id}}}","data":{"sdp":"v=0"}}""");
        ServerMessage offer = await bob.ExpectAsync("offer");
        Assert.Equal(ann.Id, offer.Str("from"));
        Assert.Equal("v=0", offer.Get("data").GetProperty("sdp").GetString());

        // Several messages in one post, in order.
        Assert.Equal(HttpStatusCode.NoContent, await bob.PostAsync(
            $$$"""{"type":"answer","to":"{{{ann.Id}}}","data":{"sdp":"v=1"}}""",
            $$$"""{"type":"candidate","to":"{{{ann.Id}}}","data":"c1"}""",
            """{"type":"broadcast","data":"hi all"}"""));
        Assert.Equal("v=1", (await ann.ExpectAsync("answer")).Get("data").GetProperty("sdp").GetString());
        Assert.Equal("c1", (await ann.ExpectAsync("candidate")).Str("data"));
        Assert.Equal("hi all", (await ann.ExpectAsync("broadcast")).Str("data"));

        // A bad message gets an error on the poll, and the session lives on.
        Assert.Equal(HttpStatusCode.NoContent, await bob.PostAsync("{not json", """{"type":"ping","id":"p1"}"""));
        Assert.Equal(SignalError.BadJson, (await bob.ExpectAsync("error")).Str("code"));
        Assert.Equal("p1", (await bob.ExpectAsync("pong")).Str("id"));

        // A leave, then the session closed as a WebSocket would be: the next poll is told.
        Assert.Equal(HttpStatusCode.NoContent, await bob.PostAsync("""{"type":"leave"}"""));
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Str("id"));
        Assert.Equal(HttpStatusCode.NoContent, await bob.CloseAsync());
        (_, int? closed) = await bob.PollOnceAsync();
        Assert.Equal(1000, closed);
    }

    [Fact]
    public async Task WhatALostResponseCarried_IsSentAgain_AndWhatWasAcknowledgedIsNot()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { PingIntervalSeconds = 1 });
        await using PollingTestClient bob = await PollingTestClient.OpenAsync(server.Http);
        await bob.JoinAsync("lobby");
        long afterJoin = bob.Acknowledged;
        Assert.Equal(HttpStatusCode.NoContent, await bob.PostAsync("""{"type":"ping","id":"a"}""", """{"type":"ping","id":"b"}"""));
        List<ServerMessage> first = [];
        while (first.Count < 2)
        {
            first.AddRange((await bob.PollOnceAsync()).Messages);
        }

        // That response is lost: the next poll still acknowledges only the join, and gets both again.
        (List<ServerMessage> again, _) = await bob.PollOnceAsync(afterJoin);
        Assert.Equal(["a", "b"], again.Select(m => m.Str("id")));
        Assert.Equal(afterJoin + 2, bob.Acknowledged);

        // Acknowledged, they are gone: the next poll waits and answers nothing.
        (List<ServerMessage> none, int? closed) = await bob.PollOnceAsync();
        Assert.Empty(none);
        Assert.Null(closed);
    }

    [Fact]
    public async Task AnEmptyPoll_AnswersAnEmptyArray_AfterTheInterval()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { PingIntervalSeconds = 1 });
        await using PollingTestClient bob = await PollingTestClient.OpenAsync(server.Http);
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        (List<ServerMessage> messages, int? closed) = await bob.PollOnceAsync();
        Assert.Empty(messages);
        Assert.Null(closed);
        Assert.InRange(elapsed.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task APeerThatStopsPolling_IsAway_AndResumesOverANewSession_OrAWebSocket()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { PingIntervalSeconds = 1 });
        await using SignalTestClient ann = await server.JoinAsync("lobby");
        await using PollingTestClient bob = await PollingTestClient.OpenAsync(server.Http);
        await bob.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");

        // Bob stops polling: after two intervals his session is a dropped connection.
        await server.WaitUntilAwayAsync("lobby", bob.Id);
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"kept for you"}""");
        (_, int? closed) = await bob.PollOnceAsync();
        Assert.Equal(1006, closed);

        await using PollingTestClient again = await PollingTestClient.OpenAsync(server.Http);
        ServerMessage resumed = await again.ResumeAsync(bob.ResumeToken);
        Assert.True(resumed.Get("resumed").GetBoolean());
        Assert.Equal(bob.Id, resumed.Str("id"));
        Assert.Equal("kept for you", (await again.ExpectAsync("message")).Str("data"));

        // And from the fallback back to a WebSocket: the same seat again.
        await using SignalTestClient onSocket = await server.ConnectAsync();
        Assert.Equal(bob.Id, (await onSocket.ResumeAsync(bob.ResumeToken)).Str("id"));
        Assert.DoesNotContain(await ann.SyncAsync(), m => m.Type is "peer-left" or "peer-joined");
    }

    [Fact]
    public async Task WhatASessionNeverHandedOut_BeforeItWasDropped_GoesToTheResume()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { PingIntervalSeconds = 1 });
        await using SignalTestClient ann = await server.JoinAsync("lobby");
        await using PollingTestClient bob = await PollingTestClient.OpenAsync(server.Http);
        await bob.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");

        // Sent while Bob's session still stands, then he stops polling and the sweep drops it.
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"sent before the drop"}""");
        await ann.SyncAsync();
        await server.WaitUntilAwayAsync("lobby", bob.Id);

        await using SignalTestClient onSocket = await server.ConnectAsync();
        Assert.Equal(bob.Id, (await onSocket.ResumeAsync(bob.ResumeToken)).Str("id"));
        Assert.Equal("sent before the drop", (await onSocket.ExpectAsync("message")).Str("data"));
    }

    [Fact]
    public async Task Sessions_AreAdmittedAsWebSocketsAre()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { AllowedOrigins = ["https://app.example"], MaxConnectionsPerAddress = 1 });
        using var http = new HttpClient { BaseAddress = server.Http };

        // An Origin that is not allowed: 403, as for the upgrade.
        using var foreign = new HttpRequestMessage(HttpMethod.Post, "signal/poll");
        foreign.Headers.Add("Origin", "https://evil.example");
        using HttpResponseMessage refused = await http.SendAsync(foreign);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        // An allowed one gets CORS headers naming it, so its page can read the answers.
        await using PollingTestClient allowed = await PollingTestClient.OpenAsync(server.Http, origin: "https://app.example");
        using var poll = new HttpRequestMessage(HttpMethod.Post, allowed.PollUri);
        poll.Headers.Add("Origin", "https://app.example");
        poll.Content = new StringContent("""{"type":"ping"}""");
        using HttpResponseMessage posted = await http.SendAsync(poll);
        Assert.Equal(HttpStatusCode.NoContent, posted.StatusCode);
        Assert.Equal("https://app.example", posted.Headers.GetValues("Access-Control-Allow-Origin").Single());

        // A post is bounded: 64 KB.
        using HttpResponseMessage large = await http.PostAsync(allowed.PollUri, new StringContent(new string(' ', 65 * 1024)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);

        // The address's connection limit counts sessions too.
        using HttpResponseMessage second = await http.PostAsync(new Uri("signal/poll", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);

        // An unknown session is gone.
        using HttpResponseMessage unknown = await http.GetAsync(new Uri("signal/poll/nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Gone, unknown.StatusCode);
        using HttpResponseMessage unknownPost = await http.PostAsync(new Uri("signal/poll/nope", UriKind.Relative), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.Gone, unknownPost.StatusCode);
        using HttpResponseMessage unknownClose = await http.PostAsync(new Uri("signal/poll/nope/close", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Gone, unknownClose.StatusCode);
    }

    [Fact]
    public async Task TheServerStopping_EndsSessions_WithItsCloseCode()
    {
        SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using PollingTestClient bob = await PollingTestClient.OpenAsync(server.Http);
        await bob.JoinAsync("lobby");
        Task<(List<ServerMessage> Messages, int? ClosedWith)> waiting = bob.PollOnceAsync();
        Task stopping = server.DisposeAsync().AsTask();
        (List<ServerMessage> last, int? closed) = await waiting;
        if (closed is null)
        {
            Assert.Empty(last);
            (_, closed) = await bob.PollOnceAsync();
        }

        Assert.Equal(1001, closed);
        await stopping;
    }
}
