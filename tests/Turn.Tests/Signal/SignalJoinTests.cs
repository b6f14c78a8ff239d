using System.Text.Json;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>Joining a room: what the joiner is told and what the others are told.</summary>
public sealed class SignalJoinTests
{
    private static SignalOptions Small => new() { MaxPeersPerRoom = 2, ResumeGraceSeconds = 2, MessagesPerSecond = 50, MaxMessageBytes = 1024 };

    [Fact]
    public async Task Join_EmptyRoom_ReturnsJoinedWithIdResumeTokenNoPeersAndIceServers()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();

        ServerMessage joined = await ann.JoinAsync("lobby");

        Assert.Equal(1, joined.Get("v").GetInt32());
        Assert.Equal("lobby", joined.Str("room"));
        Assert.Matches("^[0-9a-f]{12}$", joined.Str("id"));
        Assert.True(joined.Str("resumeToken").Length >= 16, joined.Raw);
        Assert.False(joined.Get("resumed").GetBoolean());
        Assert.Equal(0, joined.Get("peers").GetArrayLength());
        AssertIceServers(joined, call: 1, joined.Str("id"));
        Assert.Equal([joined.Str("id")], server.IceServers.Requests);
    }

    [Fact]
    public async Task Join_SecondPeer_SeesTheFirstInPeersAndTheFirstGetsPeerJoined()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();
        await using SignalTestClient bob = await server.ConnectAsync();
        await ann.JoinAsync("lobby", "Ann", """{"color":"red","tags":["a",1]}""");

        ServerMessage joined = await bob.JoinAsync("lobby", "Bob");

        JsonElement peer = Assert.Single(joined.Get("peers").EnumerateArray());
        Assert.Equal(ann.Id, peer.GetProperty("id").GetString());
        Assert.Equal("Ann", peer.GetProperty("name").GetString());
        Assert.Equal("""{"color":"red","tags":["a",1]}""", peer.GetProperty("meta").GetRawText());
        Assert.NotEqual(ann.Id, bob.Id);
        AssertIceServers(joined, call: 2, bob.Id);

        ServerMessage peerJoined = await ann.ExpectAsync("peer-joined");
        Assert.Equal(bob.Id, peerJoined.Get("peer").GetProperty("id").GetString());
        Assert.Equal("Bob", peerJoined.Get("peer").GetProperty("name").GetString());
        Assert.False(peerJoined.Get("peer").TryGetProperty("meta", out _), peerJoined.Raw);
        await bob.ExpectNothingAsync();
    }

    [Fact]
    public async Task Join_OtherRoom_IsNotSeen()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("one");

        await using SignalTestClient bob = await server.ConnectAsync();
        ServerMessage joined = await bob.JoinAsync("two");

        Assert.Equal(0, joined.Get("peers").GetArrayLength());
        await ann.ExpectNothingAsync();
    }

    [Fact]
    public async Task Join_Twice_ReturnsAlreadyJoinedAndKeepsTheSeat()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("lobby");

        await ann.SendAsync("""{"type":"join","room":"other","id":"j2"}""");

        ServerMessage error = await ann.ExpectErrorAsync(SignalError.AlreadyJoined);
        Assert.Equal("j2", error.Str("id"));
        Assert.NotNull(server.Peer("lobby", ann.Id));
        Assert.Empty(server.Hub.Snapshot("other"));
    }

    [Theory]
    [InlineData("""{"type":"join"}""")]
    [InlineData("""{"type":"join","room":""}""")]
    public async Task Join_WithoutRoom_ReturnsBadRequest(string join)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync(join);

        await ann.ExpectErrorAsync(SignalError.BadRequest);
        await ann.JoinAsync("lobby");
    }

    [Fact]
    public async Task Join_FullRoom_ReturnsRoomFullAndTheOthersSeeNothing()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("lobby");
        await using SignalTestClient bob = await server.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");
        await using SignalTestClient cy = await server.ConnectAsync();

        await cy.SendAsync("""{"type":"join","room":"lobby","id":"j1"}""");

        ServerMessage error = await cy.ExpectErrorAsync(SignalError.RoomFull);
        Assert.Equal("j1", error.Str("id"));
        await ann.ExpectNothingAsync();
        await bob.ExpectNothingAsync();
        await cy.JoinAsync("elsewhere");
    }

    [Fact]
    public async Task Join_AfterAPeerLeftAFullRoom_Succeeds()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("lobby");
        await using SignalTestClient bob = await server.JoinAsync("lobby");
        await using SignalTestClient cy = await server.ConnectAsync();
        await cy.SendAsync("""{"type":"join","room":"lobby"}""");
        await cy.ExpectErrorAsync(SignalError.RoomFull);

        await bob.SendAsync("""{"type":"leave"}""");
        await ann.NextOfTypeAsync("peer-left");

        ServerMessage joined = await cy.JoinAsync("lobby");
        Assert.Equal(ann.Id, Assert.Single(joined.Get("peers").EnumerateArray()).GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("room", 129)]
    [InlineData("name", 129)]
    public async Task Join_WithAFieldOver128Characters_ReturnsBadRequest(string field, int length)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.ConnectAsync();
        var join = new Dictionary<string, string> { ["type"] = "join", ["room"] = "lobby", ["id"] = "long" };
        join[field] = new string('n', length);

        await ann.SendAsync(JsonSerializer.Serialize(join));

        Assert.Equal("long", (await ann.ExpectErrorAsync(SignalError.BadRequest)).Str("id"));
        Assert.Equal(0, server.Hub.PeerCount);
        join[field] = new string('n', 128);
        await ann.SendAsync(JsonSerializer.Serialize(join));
        await ann.ExpectAsync("joined");
    }

    [Fact]
    public async Task Join_WithMetaOver4096Bytes_ReturnsBadRequest()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with { MaxMessageBytes = 16 * 1024 });
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync($$$"""{"type":"join","room":"lobby","meta":{"pad":"{{{new string('m', 4096)}}}"}}""");

        await ann.ExpectErrorAsync(SignalError.BadRequest);
        Assert.Equal(0, server.Hub.PeerCount);
    }

    [Fact]
    public async Task Join_ARoomBeyondMaxRooms_ReturnsTooManyRooms()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with { MaxRooms = 1 });
        await using SignalTestClient ann = await server.JoinAsync("one");
        await using SignalTestClient bob = await server.ConnectAsync();

        await bob.SendAsync("""{"type":"join","room":"two","id":"t"}""");

        Assert.Equal("t", (await bob.ExpectErrorAsync(SignalError.TooManyRooms)).Str("id"));
        Assert.Equal(1, server.Hub.RoomCount);
        await bob.JoinAsync("one");
    }

    [Fact]
    public async Task Join_WhileDraining_ReturnsDrainingButPeersCarryOnAndResume()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small);
        await using SignalTestClient ann = await server.JoinAsync("lobby");
        await using SignalTestClient bob = await server.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");
        server.Hub.Draining = true;
        await using SignalTestClient cy = await server.ConnectAsync();

        await cy.SendAsync("""{"type":"join","room":"elsewhere"}""");

        await cy.ExpectErrorAsync(SignalError.ServerDraining);
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"still here"}""");
        Assert.Equal("\"still here\"", (await bob.ExpectAsync("message")).DataText);
        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("lobby", bob.Id);
        await using SignalTestClient bobAgain = await server.ConnectAsync();
        Assert.True((await bobAgain.ResumeAsync(bob.ResumeToken)).Get("resumed").GetBoolean());
    }

    /// <summary>A ping round trip on <paramref name="client"/>; fails with what broke the connection if it is gone.</summary>
    internal static async Task AssertAliveAsync(SignalTestClient client)
    {
        try
        {
            await client.SyncAsync();
        }
        catch (System.Net.WebSockets.WebSocketException e)
        {
            await client.Ended.WaitAsync(SignalTestServer.Timeout);
            Assert.Fail($"the connection of {client.Id} is gone ({e.Message}); it ended with close {client.CloseStatus} \"{client.CloseDescription}\", {client.Failure?.GetType().Name}: {client.Failure?.Message}");
        }
    }

    internal static void AssertIceServers(ServerMessage joined, int call, string peerId)
    {
        JsonElement[] servers = [.. joined.Get("iceServers").EnumerateArray()];
        Assert.Equal(2, servers.Length);
        Assert.Equal([FakeIceServers.StunUrl], servers[0].GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        Assert.False(servers[0].TryGetProperty("username", out _), joined.Raw);
        Assert.False(servers[0].TryGetProperty("credential", out _), joined.Raw);
        Assert.Equal([FakeIceServers.TurnUdpUrl, FakeIceServers.TurnTcpUrl], servers[1].GetProperty("urls").EnumerateArray().Select(u => u.GetString()));
        Assert.Equal(FakeIceServers.UsernameOf(call, peerId), servers[1].GetProperty("username").GetString());
        Assert.Equal(FakeIceServers.CredentialOf(call), servers[1].GetProperty("credential").GetString());
    }

    [Fact]
    public async Task IceServers_GivesAJoinedPeerFreshCredentials_WithinTheAddressRate()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Small with { CredentialsPerMinute = 3 });
        await using SignalTestClient ann = await server.ConnectAsync();
        await ann.SendAsync("""{"type":"ice-servers","id":"early"}""");
        await ann.ExpectErrorAsync(SignalError.NotJoined);
        await ann.JoinAsync("room");

        await ann.SendAsync("""{"type":"ice-servers","id":"i1"}""");
        ServerMessage fresh = await ann.ExpectAsync("ice-servers");
        await ann.SendAsync("""{"type":"ice-servers","id":"i2"}""");
        ServerMessage second = await ann.ExpectAsync("ice-servers");
        await ann.SendAsync("""{"type":"ice-servers","id":"i3"}""");
        ServerMessage refused = await ann.ExpectErrorAsync(SignalError.RateLimited);

        Assert.Equal("i1", fresh.Str("id"));
        Assert.Equal(JsonValueKind.Array, fresh.Get("iceServers").ValueKind);
        Assert.Equal("i2", second.Str("id"));
        Assert.Equal("i3", refused.Str("id"));
    }
}
