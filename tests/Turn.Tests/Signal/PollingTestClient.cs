using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// A client of the HTTP fallback (docs/signaling.md, "Without WebSockets"): opens a session,
/// posts messages, and long-polls for the server's, keeping what it read in order. Every wait is
/// bounded by <see cref="SignalTestServer.Timeout"/> (or the one given).
/// </summary>
internal sealed class PollingTestClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly Queue<ServerMessage> _read = new();

    private PollingTestClient(HttpClient http, string session, Uri poll)
    {
        _http = http;
        Session = session;
        PollUri = poll;
    }

    public string Session { get; }

    /// <summary>http://HOST/signal/poll/{session}</summary>
    public Uri PollUri { get; }

    public string Id { get; private set; } = "";

    public string ResumeToken { get; private set; } = "";

    /// <summary>Opens a session at http://HOST{path}/poll, with <paramref name="origin"/> as the page's Origin when given.</summary>
    public static async Task<PollingTestClient> OpenAsync(Uri http, string path = "/signal", string? origin = null)
    {
        var client = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(30) };
        if (origin is not null)
        {
            client.DefaultRequestHeaders.Add("Origin", origin);
        }

        using HttpResponseMessage opened = await client.PostAsync(new Uri(path.TrimStart('/') + "/poll", UriKind.Relative), null);
        Assert.True(opened.StatusCode == HttpStatusCode.OK, $"opening a session: {(int)opened.StatusCode} {await opened.Content.ReadAsStringAsync()}");
        using JsonDocument answer = JsonDocument.Parse(await opened.Content.ReadAsStringAsync());
        string session = answer.RootElement.GetProperty("session").GetString()!;
        return new PollingTestClient(client, session, new Uri(http, path.TrimStart('/') + "/poll/" + session));
    }

    /// <summary>Posts messages (one per line); returns the status.</summary>
    public async Task<HttpStatusCode> PostAsync(params string[] messages)
    {
        using var content = new StringContent(string.Join('\n', messages), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using HttpResponseMessage response = await _http.PostAsync(PollUri, content);
        return response.StatusCode;
    }

    /// <summary>The sequence number of the last message read (what the next poll acknowledges).</summary>
    public long Acknowledged { get; private set; }

    /// <summary>One poll: the messages it answered after those acknowledged, or the 410 body's close code when the session is over.</summary>
    public async Task<(List<ServerMessage> Messages, int? ClosedWith)> PollOnceAsync(long? acknowledge = null)
    {
        using HttpResponseMessage response = await _http.GetAsync(new Uri($"{PollUri}?ack={acknowledge ?? Acknowledged}"));
        string body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            using JsonDocument closed = JsonDocument.Parse(body);
            return ([], closed.RootElement.GetProperty("code").GetInt32());
        }

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"poll: {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument batch = JsonDocument.Parse(body);
        Acknowledged = batch.RootElement.GetProperty("seq").GetInt64();
        return ([.. batch.RootElement.GetProperty("messages").EnumerateArray().Select(m => new ServerMessage(m.GetRawText()))], null);
    }

    /// <summary>The next message the server sent, polling as long as needed.</summary>
    public async Task<ServerMessage> NextAsync(TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? SignalTestServer.Timeout);
        while (_read.Count == 0)
        {
            Assert.False(timeout.IsCancellationRequested, $"no message within {(within ?? SignalTestServer.Timeout).TotalSeconds} s (session {Session})");
            (List<ServerMessage> messages, int? closed) = await PollOnceAsync();
            Assert.True(closed is null, $"the session closed with {closed}");
            foreach (ServerMessage message in messages)
            {
                _read.Enqueue(message);
            }
        }

        return _read.Dequeue();
    }

    public async Task<ServerMessage> ExpectAsync(string type)
    {
        ServerMessage message = await NextAsync();
        Assert.True(message.Type == type, $"expected \"{type}\", got {message.Raw}");
        return message;
    }

    public async Task<ServerMessage> JoinAsync(string room, string? name = null)
    {
        Assert.Equal(HttpStatusCode.NoContent, await PostAsync(JsonSerializer.Serialize(new { type = "join", room, name })));
        return Remember(await ExpectAsync("joined"));
    }

    public async Task<ServerMessage> ResumeAsync(string resumeToken)
    {
        Assert.Equal(HttpStatusCode.NoContent, await PostAsync(JsonSerializer.Serialize(new { type = "join", resume = resumeToken })));
        return Remember(await ExpectAsync("joined"));
    }

    private ServerMessage Remember(ServerMessage joined)
    {
        Id = joined.Str("id");
        ResumeToken = joined.Str("resumeToken");
        return joined;
    }

    public async Task<HttpStatusCode> CloseAsync()
    {
        using HttpResponseMessage response = await _http.PostAsync(new Uri(PollUri + "/close"), null);
        return response.StatusCode;
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
