using System.Text.Json;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// Two signaling servers sharing rooms through a real redis-server (Signal:Redis), each with its
/// own clients over real WebSockets.
/// </summary>
public sealed class SignalAcrossDaemonsTests
{
    private static SignalOptions Options(RedisServer redis, int maxPeersPerRoom = 50) => new() { Redis = redis.Configuration, MaxPeersPerRoom = maxPeersPerRoom };

    [Fact]
    public async Task PeersOnTwoDaemons_SeeEachOther_TalkAndBroadcast_AndLeave()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using SignalTestServer one = await SignalTestServer.StartAsync(Options(redis));
        await using SignalTestServer two = await SignalTestServer.StartAsync(Options(redis));

        await using SignalTestClient ann = await one.JoinAsync("lobby", "Ann");
        await using SignalTestClient bob = await two.ConnectAsync();
        ServerMessage joined = await bob.JoinAsync("lobby", "Bob");
        Assert.Equal([ann.Id], joined.Get("peers").EnumerateArray().Select(p => p.GetProperty("id").GetString()));
        Assert.Equal("Ann", joined.Get("peers")[0].GetProperty("name").GetString());

        ServerMessage peerJoined = await ann.ExpectAsync("peer-joined");
        Assert.Equal(bob.Id, peerJoined.Get("peer").GetProperty("id").GetString());
        Assert.Equal("Bob", peerJoined.Get("peer").GetProperty("name").GetString());

        await ann.SendAsync($$$"""{"type":"offer","to":"{{{bob.Id}}}","data":{"sdp":"v=0"}}""");
        ServerMessage offer = await bob.ExpectAsync("offer");
        Assert.Equal(ann.Id, offer.Get("from").GetString());
        Assert.Equal("v=0", offer.Get("data").GetProperty("sdp").GetString());

        await bob.SendAsync($$$"""{"type":"answer","to":"{{{ann.Id}}}","data":{"sdp":"v=1"}}""");
        Assert.Equal(bob.Id, (await ann.ExpectAsync("answer")).Get("from").GetString());

        await using SignalTestClient cy = await one.JoinAsync("lobby", "Cy");
        await ann.ExpectAsync("peer-joined");
        await bob.ExpectAsync("peer-joined");
        await bob.SendAsync("""{"type":"broadcast","data":"hello all"}""");
        Assert.Equal("hello all", (await ann.ExpectAsync("broadcast")).Get("data").GetString());
        Assert.Equal("hello all", (await cy.ExpectAsync("broadcast")).Get("data").GetString());

        // A server push on one daemon reaches the room's members on both (the count is this daemon's).
        Assert.Equal(1, two.Hub.Push("lobby", """{"note":"from the second daemon's API"}"""u8));
        Assert.Equal("server", (await bob.ExpectAsync("broadcast")).Get("from").GetString());
        Assert.Equal("server", (await ann.ExpectAsync("broadcast")).Get("from").GetString());
        Assert.Equal("server", (await cy.ExpectAsync("broadcast")).Get("from").GetString());

        await bob.SendAsync("""{"type":"leave"}""");
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Get("id").GetString());
        Assert.Equal(bob.Id, (await cy.ExpectAsync("peer-left")).Get("id").GetString());

        // A push through a daemon with no member in the room reaches the others' members; a room
        // that no daemon has is unknown.
        Assert.Equal(0, await two.Hub.PushAsync("lobby", """{"note":"through a daemon without members"}"""u8.ToArray()));
        Assert.Equal("through a daemon without members", (await ann.ExpectAsync("broadcast")).Get("data").GetProperty("note").GetString());
        Assert.Equal(-1, await two.Hub.PushAsync("nowhere", "{}"u8.ToArray()));

        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":1}""");
        Assert.Equal(SignalError.UnknownPeer, (await ann.ExpectAsync("error")).Get("code").GetString());
    }

    [Fact]
    public async Task AResumeOnTheOtherDaemon_KeepsTheIdAndSeat_AndWhatWasSentMeanwhile_AndNobodySeesALeave()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using SignalTestServer one = await SignalTestServer.StartAsync(Options(redis));
        await using SignalTestServer two = await SignalTestServer.StartAsync(Options(redis));
        await using SignalTestClient ann = await one.JoinAsync("lobby", "Ann");
        await using SignalTestClient bob = await two.JoinAsync("lobby", "Bob");
        await using SignalTestClient cy = await two.JoinAsync("lobby", "Cy");
        await ann.ExpectAsync("peer-joined");
        await ann.ExpectAsync("peer-joined");
        await bob.ExpectAsync("peer-joined");

        // Bob's connection to the second daemon drops; what Ann sends him meanwhile is kept there.
        bob.Socket.Abort();
        await two.WaitUntilAwayAsync("lobby", bob.Id);
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"while away"}""");
        await Task.Delay(200);

        // He comes back through the first daemon (a load balancer without stickiness).
        await using SignalTestClient again = await one.ConnectAsync();
        ServerMessage resumed = await again.ResumeAsync(bob.ResumeToken);
        Assert.Equal(bob.Id, resumed.Get("id").GetString());
        Assert.True(resumed.Get("resumed").GetBoolean());
        ServerMessage kept = await again.ExpectAsync("message");
        Assert.Equal("while away", kept.Get("data").GetString());
        Assert.Equal(ann.Id, kept.Get("from").GetString());

        // Both daemons now route to his new connection; nobody saw him leave or join.
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"from the same daemon"}""");
        Assert.Equal("from the same daemon", (await again.ExpectAsync("message")).Get("data").GetString());
        await cy.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"from the old daemon"}""");
        Assert.Equal("from the old daemon", (await again.ExpectAsync("message")).Get("data").GetString());
        foreach (SignalTestClient other in new[] { ann, cy })
        {
            await other.SendAsync("""{"type":"ping","id":"after"}""");
            Assert.Equal("pong", (await other.NextAsync()).Type);
        }

        Assert.Null(two.Peer("lobby", bob.Id));
        Assert.True(one.Peer("lobby", bob.Id)!.Connected);
    }

    [Fact]
    public async Task ARoomsSizeCap_HoldsAcrossDaemons()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using SignalTestServer one = await SignalTestServer.StartAsync(Options(redis, maxPeersPerRoom: 2));
        await using SignalTestServer two = await SignalTestServer.StartAsync(Options(redis, maxPeersPerRoom: 2));
        await using SignalTestClient ann = await one.JoinAsync("small");
        await using SignalTestClient bob = await two.JoinAsync("small");
        await ann.ExpectAsync("peer-joined");

        await using SignalTestClient cy = await one.ConnectAsync();
        await cy.SendAsync("""{"type":"join","room":"small"}""");
        Assert.Equal(SignalError.RoomFull, (await cy.ExpectAsync("error")).Get("code").GetString());

        await bob.SendAsync("""{"type":"leave"}""");
        await ann.ExpectAsync("peer-left");
        await cy.JoinAsync("small");
    }

    [Fact]
    public async Task WhenADaemonStopsBeatingItsPeersLeaveTheOthersRooms()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using SignalTestServer one = await SignalTestServer.StartAsync(Options(redis));
        SignalTestServer two = await SignalTestServer.StartAsync(Options(redis));
        await using SignalTestClient ann = await one.JoinAsync("lobby");
        SignalTestClient bob = await two.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");

        // The second daemon goes without a word (its seats stay in Redis); once its heartbeat
        // lapses, the first daemon's sweep lets its peers go.
        await using (bob)
        {
            await two.DisposeAsync();
        }

        await Task.Delay(TimeSpan.FromSeconds(16));
        one.Sweep();
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Get("id").GetString());
    }

    [Fact]
    public async Task AfterRedisRestartsEmpty_TheRoomIsWholeAgain_WithWhoJoinedAndLeftMeanwhile()
    {
        RedisServer redis = await RedisServer.StartAsync();
        int port = redis.Port;
        await using SignalTestServer one = await SignalTestServer.StartAsync(Options(redis));
        await using SignalTestServer two = await SignalTestServer.StartAsync(Options(redis));
        await using SignalTestClient ann = await one.JoinAsync("lobby", "Ann");
        await using SignalTestClient bob = await two.JoinAsync("lobby", "Bob");
        await ann.ExpectAsync("peer-joined");

        // Redis goes; meanwhile Cy joins on the second daemon (which still knows Ann) and Bob
        // leaves there, and Dan joins on the first: neither daemon hears of the other's changes.
        await redis.DisposeAsync();
        await using SignalTestClient cy = await two.ConnectAsync();
        Assert.Equal(new[] { ann.Id, bob.Id }.Order(), (await cy.JoinAsync("lobby", "Cy")).Get("peers").EnumerateArray().Select(p => p.GetProperty("id").GetString()).Order());
        await bob.ExpectAsync("peer-joined");
        await bob.SendAsync("""{"type":"leave"}""");
        Assert.Equal(bob.Id, (await cy.ExpectAsync("peer-left")).Get("id").GetString());
        await using SignalTestClient dan = await one.JoinAsync("lobby", "Dan");
        Assert.Equal(dan.Id, (await ann.ExpectAsync("peer-joined")).Get("peer").GetProperty("id").GetString());

        // Redis returns on its port, empty (no persistence): with no restart of the daemons, each
        // puts its members back, and each side learns who came and went while Redis was away.
        await using RedisServer again = await RedisServer.StartAsync(port);
        TimeSpan patience = TimeSpan.FromSeconds(20);
        var annSaw = new List<ServerMessage> { await ann.NextAsync("Cy's join and Bob's leave", patience), await ann.NextAsync("Cy's join and Bob's leave", patience) };
        Assert.Contains(annSaw, m => m.Type == "peer-joined" && m.Get("peer").GetProperty("id").GetString() == cy.Id);
        Assert.Contains(annSaw, m => m.Type == "peer-left" && m.Get("id").GetString() == bob.Id);
        Assert.Equal(dan.Id, (await cy.NextOfTypeAsync("peer-joined", patience)).Get("peer").GetProperty("id").GetString());
        Assert.Equal(cy.Id, (await dan.NextOfTypeAsync("peer-joined", patience)).Get("peer").GetProperty("id").GetString());

        // And the room works across again, with a resume token remembered on the new Redis.
        await ann.SendAsync($$"""{"type":"message","to":"{{cy.Id}}","data":"hello after the restart"}""");
        Assert.Equal("hello after the restart", (await cy.ExpectAsync("message")).Get("data").GetString());
        Assert.True(one.Hub.BackplaneConnected);
        cy.Socket.Abort();
        await using SignalTestClient cyAgain = await one.ConnectAsync();
        Assert.Equal(cy.Id, (await cyAgain.ResumeAsync(cy.ResumeToken)).Get("id").GetString());
    }

    [Fact]
    public async Task TheRoomsApi_ListsEveryDaemonsMembers_FromAnyDaemon_WithWhoIsAway()
    {
        const string Key = "api-key-0123456789-0123456789-0123";
        await using RedisServer redis = await RedisServer.StartAsync();
        await using SignalTestServer one = await SignalTestServer.StartAsync(Options(redis) with { ApiKey = Key });
        await using SignalTestServer two = await SignalTestServer.StartAsync(Options(redis) with { ApiKey = Key });
        await using SignalTestClient ann = await one.JoinAsync("lobby", "Ann");
        await using SignalTestClient bob = await two.JoinAsync("lobby", "Bob");
        await using SignalTestClient cy = await two.JoinAsync("annex", "Cy");
        bob.Socket.Abort();
        await two.WaitUntilAwayAsync("lobby", bob.Id);

        foreach (SignalTestServer server in new[] { one, two })
        {
            using HttpClient http = server.HttpClient(Key);
            using JsonDocument rooms = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/rooms", UriKind.Relative)));
            Assert.Equal(
                ["annex:1", "lobby:2"],
                rooms.RootElement.EnumerateArray().Select(r => $"{r.GetProperty("room").GetString()}:{r.GetProperty("peers").GetInt32()}").Order());

            // The away mark goes to Redis without waiting: another daemon may read it a moment later.
            string[] expected = [$"{ann.Id} Ann True", $"{bob.Id} Bob False"];
            string[] lobby = [];
            for (int attempt = 0; attempt < 50 && !lobby.SequenceEqual(expected.Order()); attempt++)
            {
                await Task.Delay(attempt == 0 ? 0 : 100);
                using JsonDocument room = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/rooms/lobby", UriKind.Relative)));
                lobby = [.. room.RootElement.GetProperty("peers").EnumerateArray().Select(p => $"{p.GetProperty("id").GetString()} {p.GetProperty("name").GetString()} {p.GetProperty("connected").GetBoolean()}").Order()];
            }

            Assert.Equal(expected.Order(), lobby);
            using HttpResponseMessage none = await http.GetAsync(new Uri("api/rooms/nowhere", UriKind.Relative));
            Assert.Equal(System.Net.HttpStatusCode.NotFound, none.StatusCode);
        }
    }

    [Fact]
    public async Task AnAddresssJoinRate_IsForAllDaemonsTogether()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        SignalOptions options = Options(redis) with { JoinsPerSecond = 1, CredentialsPerMinute = 1000 };
        await using SignalTestServer one = await SignalTestServer.StartAsync(options);
        await using SignalTestServer two = await SignalTestServer.StartAsync(options);

        // One a second with bursts of four, for this address on both daemons together (each
        // alone would take four in a burst, eight in all).
        var clients = new List<SignalTestClient>();
        int accepted = 0;
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                SignalTestClient client = await (i % 2 == 0 ? one : two).ConnectAsync();
                clients.Add(client);
                await client.SendAsync($$"""{"type":"join","room":"r{{i}}"}""");
                ServerMessage answer = await client.NextAsync();
                if (answer.Type == "joined")
                {
                    accepted++;
                }
                else
                {
                    Assert.Equal(SignalError.RateLimited, answer.Str("code"));
                    Assert.Contains("joins per second", answer.Str("message"), StringComparison.Ordinal);
                }
            }

            Assert.InRange(accepted, 4, 4 + (int)Math.Ceiling(elapsed.Elapsed.TotalSeconds));
        }
        finally
        {
            foreach (SignalTestClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AnAddresssCredentialRate_IsForAllDaemonsTogether()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        SignalOptions options = Options(redis) with { CredentialsPerMinute = 3 };
        await using SignalTestServer one = await SignalTestServer.StartAsync(options);
        await using SignalTestServer two = await SignalTestServer.StartAsync(options);
        await using SignalTestClient ann = await one.JoinAsync("lobby");
        await using SignalTestClient bob = await two.JoinAsync("lobby");
        await ann.SendAsync("""{"type":"ice-servers"}""");
        await ann.NextOfTypeAsync("ice-servers");

        // Three sets for the address so far, two of them on the first daemon: a join on the second
        // (which has handed out one) is refused, as the rate is for both together.
        await using SignalTestClient cy = await two.ConnectAsync();
        await cy.SendAsync("""{"type":"join","room":"lobby"}""");
        ServerMessage refused = await cy.ExpectErrorAsync(SignalError.RateLimited);
        Assert.Contains("TURN credentials", refused.Str("message"), StringComparison.Ordinal);

        // And the second daemon's own count now refuses a refresh it would have allowed alone.
        await bob.SendAsync("""{"type":"ice-servers"}""");
        await bob.ExpectErrorAsync(SignalError.RateLimited);
    }
}
