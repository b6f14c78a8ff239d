using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Turn.Signal;
using Turn.Tests.Interop;
using Turn.Tests.Server;
using Turn.Tests.Signal;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// Who gets TURN credentials, attacked through a running daemon: by default only clients on the
/// host itself; with join tokens, only their holders (and the backend with the API key); with
/// the open switch, anyone, but at a bounded rate per address; and on the TURN side, credentials
/// obtained once cannot be multiplied into allocations from one address.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class SignalAdmissionAttackTests
{
    private const string JoinSecret = "attack-join-secret-0123456789-0123456789";
    private const string ApiKey = "attack-api-key-0123456789-0123456789-01";

    [Fact]
    public async Task ByDefault_AClientOnAnotherHost_GetsNoCredentials_AndCannotJoin()
    {
        await using TestNamespace ns = await TestNamespace.CreateAsync();
        var config = new JsonObject
        {
            ["Listen"] = new JsonObject { ["Addresses"] = new JsonArray(ns.Inside.ToString()), ["UdpPort"] = 3478, ["Transports"] = new JsonArray("udp") },
            ["Auth"] = new JsonObject { ["Secrets"] = new JsonArray(AttackDaemon.RestSecret) },
            ["Http"] = new JsonObject { ["Urls"] = new JsonArray($"http://{ns.Inside}:8080") },
        };
        await using DaemonProcess daemon = await ns.StartDaemonAsync(config, [$"udp {ns.Inside}:3478"]);
        using var http = new HttpClient(SignalTestClient.From(ns.Outside)) { BaseAddress = new Uri($"http://{ns.Inside}:8080/") };
        await AttackDaemon.WaitForHttpAsync(http, new Uri($"http://{ns.Inside}:8080/healthz"), daemon);

        using HttpResponseMessage ice = await http.GetAsync(new Uri("api/ice-servers", UriKind.Relative));
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(new Uri($"ws://{ns.Inside}:8080/signal"), from: ns.Outside);
        await client.SendAsync("""{"type":"join","room":"lobby","id":"j"}""");
        ServerMessage refused = await client.ExpectErrorAsync(SignalError.BadToken);

        Assert.Equal(HttpStatusCode.Forbidden, ice.StatusCode);
        Assert.DoesNotContain("\"credential\"", await ice.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("own host only", refused.Str("message"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ByDefault_AClientOnThisHost_JoinsWithCredentials()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(http: true);
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);

        ServerMessage joined = await client.JoinAsync("lobby");

        Assert.Contains("\"credential\"", joined.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ByDefault_ARequestAProxyOnThisHostForwarded_IsNotLocal()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(http: true);
        using var http = new HttpClient { BaseAddress = daemon.Http };
        using var forwarded = new HttpRequestMessage(HttpMethod.Get, new Uri("api/ice-servers", UriKind.Relative));
        forwarded.Headers.Add("X-Forwarded-For", "198.51.100.7");
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.SetRequestHeader("Forwarded", "for=198.51.100.7");
        await socket.ConnectAsync(daemon.Signal, CancellationToken.None);
        await socket.SendAsync("""{"type":"join","room":"lobby"}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, CancellationToken.None);
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        System.Net.WebSockets.WebSocketReceiveResult answer = await socket.ReceiveAsync(buffer, timeout.Token);

        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(forwarded)).StatusCode);
        Assert.Contains("\"bad-token\"", System.Text.Encoding.UTF8.GetString(buffer, 0, answer.Count), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BehindATrustedProxy_LimitsCountTheForwardedClient()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config =>
            {
                config["Http"]!["TrustedProxies"] = new JsonArray("127.0.0.1");
                config["Signal"] = new JsonObject { ["UnsafeOpenAdmission"] = true, ["CredentialsPerMinute"] = 2 };
            },
            http: true);
        using var http = new HttpClient { BaseAddress = daemon.Http };

        async Task<HttpStatusCode> Mint(string client)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("api/ice-servers", UriKind.Relative));
            request.Headers.Add("X-Forwarded-For", client);
            using HttpResponseMessage response = await http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Mint("198.51.100.7"));
        Assert.Equal(HttpStatusCode.OK, await Mint("198.51.100.7"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Mint("198.51.100.7"));
        Assert.Equal(HttpStatusCode.OK, await Mint("198.51.100.8"));
    }

    [Fact]
    public async Task WithJoinTokens_OnlyTheirHoldersAndTheBackendGetCredentials()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config => config["Signal"] = new JsonObject { ["JoinTokenSecret"] = JoinSecret, ["ApiKey"] = ApiKey },
            http: true);
        long inAMinute = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60;
        string token = JoinToken.Create(JoinSecret, "standup", inAMinute);
        string[] parts = token.Split('.');
        string padded = token + "=";
        string badPayload = Sign(JoinSecret, Base64Url("{\"room\":\"standup\"}"u8));

        await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);
        foreach ((string? given, string problem) in new (string?, string)[]
        {
            (null, "required"),
            (JoinToken.Create("another-secret-0123456789-0123456789", "standup", inAMinute), "signature"),
            (JoinToken.Create(JoinSecret, "standup", inAMinute - 120), "expired"),
            (JoinToken.Create(JoinSecret, "other", inAMinute), "another room"),
            (padded, "malformed"),
            (parts[0] + "." + NonCanonical(parts[1]), "malformed"),
            (badPayload, "payload"),
        })
        {
            string join = given is null ? """{"type":"join","room":"standup","id":"j"}""" : $$"""{"type":"join","room":"standup","token":"{{given}}","id":"j"}""";
            await client.SendAsync(join);
            ServerMessage error = await client.ExpectErrorAsync(SignalError.BadToken);
            Assert.Contains(problem, error.Str("message"), StringComparison.Ordinal);
        }

        ServerMessage joined = await client.JoinAsync("standup", token: token);
        Assert.Contains("\"credential\"", joined.Raw, StringComparison.Ordinal);

        using var anonymous = new HttpClient { BaseAddress = daemon.Http };
        using var withToken = new HttpClient { BaseAddress = daemon.Http };
        withToken.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var backend = new HttpClient { BaseAddress = daemon.Http };
        backend.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("bearer", ApiKey);
        var path = new Uri("api/ice-servers", UriKind.Relative);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await withToken.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await backend.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withToken.GetAsync(new Uri("api/rooms", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await backend.GetAsync(new Uri("api/rooms", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task OpenAdmission_MintsAtMostItsRatePerAddress_AndAnotherAddressStillGetsSome()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Signal"] = new JsonObject { ["UnsafeOpenAdmission"] = true }, http: true);
        Assert.Contains("Signal:UnsafeOpenAdmission is on", daemon.Process.StandardOutput, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = daemon.Http };
        var path = new Uri("api/ice-servers", UriKind.Relative);

        int minted = 0;
        HttpStatusCode last = HttpStatusCode.OK;
        for (int i = 0; i < 60 && last == HttpStatusCode.OK; i++)
        {
            using HttpResponseMessage response = await http.GetAsync(path);
            last = response.StatusCode;
            minted += last == HttpStatusCode.OK ? 1 : 0;
        }

        // The same address's join mints too, so it is refused as well; another address is not.
        await using SignalTestClient same = await SignalTestClient.ConnectAsync(daemon.Signal);
        await same.SendAsync("""{"type":"join","room":"lobby","id":"j"}""");
        await same.ExpectErrorAsync(SignalError.RateLimited);
        using var other = new HttpClient(SignalTestClient.From(IPAddress.Parse("127.0.0.2"))) { BaseAddress = daemon.Http };

        Assert.Equal(30, minted);
        Assert.Equal(HttpStatusCode.TooManyRequests, last);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task CredentialsMintedForManyPeers_DoNotMultiplyIntoAllocationsFromOneAddress()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config =>
            {
                config["Signal"] = new JsonObject
                {
                    ["UnsafeOpenAdmission"] = true,
                    ["CredentialsPerMinute"] = 100,
                    ["JoinsPerSecond"] = 100,
                    ["MaxPeersPerAddress"] = 100,
                    ["MaxRoomsPerAddress"] = 100,
                };
                config["Relay"]!["MaxAllocationsPerAddress"] = 32;
            },
            http: true);

        // Forty peers, each with credentials of its own, from one address.
        var credentials = new List<TurnCredentials>();
        var clients = new List<SignalTestClient>();
        try
        {
            for (int i = 0; i < 40; i++)
            {
                SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);
                clients.Add(client);
                ServerMessage joined = await client.JoinAsync($"room-{i}");
                JsonElement turn = joined.Get("iceServers").EnumerateArray().Single(s => s.TryGetProperty("username", out _));
                credentials.Add(new TurnCredentials(turn.GetProperty("username").GetString()!, turn.GetProperty("credential").GetString()!));
                await client.CloseAsync();
            }

            int allocated = 0;
            int refused = 0;
            var answers = new List<string>();
            foreach (TurnCredentials peer in credentials)
            {
                await using TurnTestClient turn = TurnTestClient.Udp(daemon.Udp4, peer);
                TurnReply reply = await turn.RequestAsync(global::Turn.Wire.StunMethod.Allocate, TurnMessages.RequestedTransportUdp);
                allocated += reply.IsSuccess ? 1 : 0;
                refused += reply.ErrorCode == 486 ? 1 : 0;
                answers.Add(reply.IsSuccess ? "ok" : reply.ErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            // Allocations of disposed clients live on until they expire: the address holds 32.
            Assert.True(allocated == 32 && refused == 8, $"answers: {string.Join(' ', answers)}");
            await using TurnTestClient elsewhere = TurnTestClient.Udp(daemon.Udp4, credentials[0], IPAddress.Parse("127.0.0.2"));
            Assert.Single(await elsewhere.AllocateAsync());
        }
        finally
        {
            foreach (SignalTestClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>The same bytes in base64url with the unused low bits of the last character set: a second spelling of one signature.</summary>
    private static string NonCanonical(string base64Url)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        int last = alphabet.IndexOf(base64Url[^1], StringComparison.Ordinal);
        return base64Url[..^1] + alphabet[(last & ~3) | 1];
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Sign(string secret, string payload)
        => payload + "." + Base64Url(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), System.Text.Encoding.ASCII.GetBytes(payload)));
}
