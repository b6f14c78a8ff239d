using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>The HTTP API next to the WebSocket: ICE servers, server push to a room, and the room listing.</summary>
public sealed class SignalHttpApiTests
{
    private const string ApiKey = "the-api-key-0123456789-0123456789-012";

    private static SignalOptions Options => new() { MaxPeersPerRoom = 3, ResumeGraceSeconds = 2, MaxMessageBytes = 1024 };

    /// <summary>Server push is off until an API key is set.</summary>
    private static SignalOptions WithKey => Options with { ApiKey = ApiKey };

    [Fact]
    public async Task IceServers_ReturnsWhatTheProviderGives()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        using HttpClient http = server.HttpClient();

        using HttpResponseMessage response = await http.GetAsync(new Uri("api/ice-servers", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = new ServerMessage(await response.Content.ReadAsStringAsync());
        JsonElement[] servers = [.. body.Get("iceServers").EnumerateArray()];
        Assert.Equal(2, servers.Length);
        Assert.Equal([FakeIceServers.StunUrl], servers[0].GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        Assert.False(servers[0].TryGetProperty("username", out _), body.Raw);
        Assert.Equal([FakeIceServers.TurnUdpUrl, FakeIceServers.TurnTcpUrl], servers[1].GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(FakeIceServers.UsernameOf(1, "api"), servers[1].GetProperty("username").GetString());
        Assert.Equal(FakeIceServers.CredentialOf(1), servers[1].GetProperty("credential").GetString());
    }

    [Fact]
    public async Task Push_ReachesEveryPeerOfTheRoomAsABroadcastFromServer()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await using SignalTestClient outsider = await server.JoinAsync("other");
        await ann.ExpectAsync("peer-joined");
        using HttpClient http = server.HttpClient(ApiKey);
        const string data = """{"notice":"the meeting ends in 5 minutes","at":[1,2,{"x":null}]}""";

        using HttpResponseMessage response = await PushAsync(http, "room", data);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, new ServerMessage(await response.Content.ReadAsStringAsync()).Get("delivered").GetInt32());
        foreach (SignalTestClient peer in new[] { ann, bob })
        {
            ServerMessage got = await peer.ExpectAsync("broadcast");
            Assert.Equal("server", got.Str("from"));
            Assert.Equal(data, got.DataText);
        }

        await outsider.ExpectNothingAsync();
    }

    [Theory]
    [InlineData("\"just a string\"")]
    [InlineData("[1,2,3]")]
    [InlineData("12.5")]
    public async Task Push_AnyJsonValue_IsRelayedExactly(string data)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await PushAsync(http, "room", data);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(data, (await ann.ExpectAsync("broadcast")).DataText);
    }

    [Fact]
    public async Task Push_ToAPeerThatIsAway_IsKeptForTheResume()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await ann.CloseAsync();
        await server.WaitUntilAwayAsync("room", ann.Id);
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await PushAsync(http, "room", """{"kept":true}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await using SignalTestClient again = await server.ConnectAsync();
        await again.ResumeAsync(ann.ResumeToken);
        ServerMessage got = await again.ExpectAsync("broadcast");
        Assert.Equal("server", got.Str("from"));
        Assert.Equal("""{"kept":true}""", got.DataText);
    }

    [Fact]
    public async Task Push_ToAnUnknownRoom_Returns404()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await PushAsync(http, "nobody-here", """{"x":1}""");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        await ann.ExpectNothingAsync();
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"a\":")]
    [InlineData("")]
    [InlineData("{} {}")]
    public async Task Push_WithABodyThatIsNotJson_Returns400(string body)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await PushAsync(http, "room", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await ann.ExpectNothingAsync();
    }

    [Fact]
    public async Task Push_TooLarge_Returns413()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await PushAsync(http, "room", $"\"{new string('x', 2000)}\"");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await ann.ExpectNothingAsync();
    }

    [Fact]
    public async Task Push_WithInvalidUtf8_Returns400AndThePeersSurvive()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("room");
        using HttpClient http = server.HttpClient(ApiKey);
        using var content = new ByteArrayContent([.. "{\"text\":\""u8, 0xC3, 0x28, .. "\"}"u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using HttpResponseMessage response = await http.PostAsync(new Uri("api/rooms/room/messages", UriKind.Relative), content);

        await SignalJoinTests.AssertAliveAsync(ann);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Push_WithoutAnApiKeyConfigured_Returns403AndDeliversNothing()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        using HttpClient http = server.HttpClient();

        using HttpResponseMessage response = await PushAsync(http, "room", """{"x":1}""");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        await ann.ExpectNothingAsync();
    }

    [Fact]
    public async Task IceServers_WithJoinTokensOn_AcceptsAJoinTokenInsteadOfTheApiKey()
    {
        const string secret = "join-secret-0123456789-0123456789-01";
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey with { JoinTokenSecret = secret });
        long inAnHour = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;
        string token = JoinToken.Create(secret, "some-room", inAnHour);
        var path = new Uri("api/ice-servers", UriKind.Relative);

        using (HttpClient none = server.HttpClient())
        {
            using HttpResponseMessage refused = await none.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using HttpResponseMessage query = await none.GetAsync(new Uri("api/ice-servers?token=" + Uri.EscapeDataString(token), UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, query.StatusCode);
            using HttpResponseMessage expired = await none.GetAsync(new Uri("api/ice-servers?token=" + Uri.EscapeDataString(JoinToken.Create(secret, "some-room", inAnHour - 7200)), UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
            using HttpResponseMessage forged = await none.GetAsync(new Uri("api/ice-servers?token=" + Uri.EscapeDataString(JoinToken.Create("other", "some-room", inAnHour)), UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        using (HttpClient bearer = server.HttpClient(token))
        {
            using HttpResponseMessage accepted = await bearer.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

            // A join token opens only the ICE servers, not the operator calls.
            using HttpResponseMessage rooms = await bearer.GetAsync(new Uri("api/rooms", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, rooms.StatusCode);
            using HttpResponseMessage push = await PostJsonAsync(bearer, "api/rooms/some-room/messages", "{}");
            Assert.Equal(HttpStatusCode.Unauthorized, push.StatusCode);
        }

        using HttpClient keyed = server.HttpClient(ApiKey);
        using HttpResponseMessage withKey = await keyed.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
    }

    [Fact]
    public async Task Rooms_ListsRoomsWithTheirPeerCounts()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.JoinAsync("one");
        await using SignalTestClient bob = await server.JoinAsync("one");
        await using SignalTestClient cy = await server.JoinAsync("two");
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await http.GetAsync(new Uri("api/rooms", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        using JsonDocument body = JsonDocument.Parse(text);
        Dictionary<string, int> rooms = body.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("room").GetString()!, r => r.GetProperty("peers").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["one"] = 2, ["two"] = 1 }, rooms);
        AssertNoSecrets(text, ann, bob, cy);
    }

    [Fact]
    public async Task Room_ListsThePeerIdsNamesAndWhetherConnected_WithoutTokens()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        await using SignalTestClient ann = await server.ConnectAsync();
        await ann.JoinAsync("one", "Ann", """{"secretish":"meta stays private"}""");
        await using SignalTestClient bob = await server.JoinAsync("one", "Bob");
        await using SignalTestClient cy = await server.JoinAsync("one");
        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("one", bob.Id);
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await http.GetAsync(new Uri("api/rooms/one", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string text = await response.Content.ReadAsStringAsync();
        var body = new ServerMessage(text);
        Assert.Equal("one", body.Str("room"));
        var peers = body.Get("peers").EnumerateArray().ToDictionary(p => p.GetProperty("id").GetString()!);
        Assert.Equal(new[] { ann.Id, bob.Id, cy.Id }.Order(StringComparer.Ordinal), peers.Keys.Order(StringComparer.Ordinal));
        Assert.False(peers[cy.Id].TryGetProperty("name", out _), text);
        Assert.Equal("Ann", peers[ann.Id].GetProperty("name").GetString());
        Assert.True(peers[ann.Id].GetProperty("connected").GetBoolean());
        Assert.Equal("Bob", peers[bob.Id].GetProperty("name").GetString());
        Assert.False(peers[bob.Id].GetProperty("connected").GetBoolean());
        AssertNoSecrets(text, ann, bob, cy);
        Assert.DoesNotContain("meta stays private", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Room_Unknown_Returns404()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithKey);
        using HttpClient http = server.HttpClient(ApiKey);

        using HttpResponseMessage response = await http.GetAsync(new Uri("api/rooms/nothing", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    public static TheoryData<string, string> ApiCalls => new()
    {
        { "GET", "api/ice-servers" },
        { "GET", "api/rooms" },
        { "GET", "api/rooms/room" },
        { "POST", "api/rooms/room/messages" },
    };

    [Theory]
    [MemberData(nameof(ApiCalls))]
    public async Task Api_WithAnApiKey_Returns401WithoutItAnd200WithIt(string method, string path)
    {
        // With join tokens on, even a client on this host needs a token or the key for ICE servers.
        const string secret = "join-secret-0123456789-0123456789";
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options with { ApiKey = ApiKey, JoinTokenSecret = secret });
        await using SignalTestClient ann = await server.ConnectAsync();
        await ann.JoinAsync("room", token: JoinToken.Create(secret, "room", DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60));

        foreach (string? key in new[] { null, "wrong-key", ApiKey + "x", "" })
        {
            using HttpClient anonymous = server.HttpClient(key);
            using HttpResponseMessage refused = await SendAsync(anonymous, method, path);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with key \"{key}\": {refused.StatusCode}");
            Assert.DoesNotContain(ApiKey, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (HttpClient basic = server.HttpClient())
        {
            basic.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("x:" + ApiKey)));
            using HttpResponseMessage refused = await SendAsync(basic, method, path);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await ann.ExpectNothingAsync();
        using HttpClient authorized = server.HttpClient(ApiKey);
        using HttpResponseMessage accepted = await SendAsync(authorized, method, path);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string method, string path)
        => method == "POST"
            ? PostJsonAsync(http, path, """{"hello":1}""")
            : http.GetAsync(new Uri(path, UriKind.Relative));

    private static Task<HttpResponseMessage> PushAsync(HttpClient http, string room, string json)
        => PostJsonAsync(http, $"api/rooms/{Uri.EscapeDataString(room)}/messages", json);

    private static async Task<HttpResponseMessage> PostJsonAsync(HttpClient http, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await http.PostAsync(new Uri(path, UriKind.Relative), content);
    }

    private static void AssertNoSecrets(string text, params SignalTestClient[] peers)
    {
        Assert.DoesNotContain("resumeToken", text, StringComparison.OrdinalIgnoreCase);
        foreach (SignalTestClient peer in peers)
        {
            Assert.DoesNotContain(peer.ResumeToken, text, StringComparison.Ordinal);
        }
    }
}
