using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>Addressed messages (offer, answer, candidate, message) and broadcasts between peers of a room.</summary>
public sealed class SignalRelayTests
{
    private static SignalOptions Three => new() { MaxPeersPerRoom = 3, ResumeGraceSeconds = 2, MessagesPerSecond = 100, MaxMessageBytes = 4096 };

    public static TheoryData<string, string> Payloads => new()
    {
        { "offer", """{"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n"}""" },
        { "answer", """{ "type" : "answer", "sdp" : "v=0\r\n" }""" },
        { "candidate", """{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}""" },
        { "message", "\"hello, \\\"world\\\" \\u00e9 \u00e9 \\n\"" },
        { "message", "[1, 2.50, -3e-7, true, false, null, \"x\", {}, []]" },
        { "message", "42" },
        { "message", "-0.125E+3" },
        { "message", "null" },
        { "message", "{\"a\":{\"b\":{\"c\":[[[{\"d\":\"\\u2603 \u2603\"}]]]}},\"e\":[]}" },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public async Task Addressed_ReachesOnlyTheAddressedPeerWithFromAndTheExactData(string type, string data)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        (SignalTestClient ann, SignalTestClient bob, SignalTestClient cy) = await ThreeAsync(server);
        await using (ann)
        await using (bob)
        await using (cy)
        {
            await ann.SendAsync($$"""{"type":"{{type}}","to":"{{bob.Id}}","data":{{data}}}""");

            ServerMessage got = await bob.ExpectAsync(type);
            Assert.Equal(ann.Id, got.Str("from"));
            Assert.Equal(data, got.DataText);
            Assert.False(got.Has("to"), got.Raw);
            await cy.ExpectNothingAsync();
            await ann.ExpectNothingAsync();
        }
    }

    [Fact]
    public async Task Addressed_OfferAnswerCandidates_FlowBothWaysInOrder()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.JoinAsync("call");
        await using SignalTestClient bob = await server.JoinAsync("call");
        await ann.ExpectAsync("peer-joined");

        await ann.SendAsync($$$"""{"type":"offer","to":"{{{bob.Id}}}","data":{"sdp":"o"}}""");
        for (int i = 0; i < 5; i++)
        {
            await ann.SendAsync($$$"""{"type":"candidate","to":"{{{bob.Id}}}","data":{"n":{{{i}}}}}""");
        }

        Assert.Equal("""{"sdp":"o"}""", (await bob.ExpectAsync("offer")).DataText);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal($$$"""{"n":{{{i}}}}""", (await bob.ExpectAsync("candidate")).DataText);
        }

        await bob.SendAsync($$$"""{"type":"answer","to":"{{{ann.Id}}}","data":{"sdp":"a"}}""");
        ServerMessage answer = await ann.ExpectAsync("answer");
        Assert.Equal(bob.Id, answer.Str("from"));
        Assert.Equal("""{"sdp":"a"}""", answer.DataText);
    }

    [Fact]
    public async Task Addressed_WithoutData_IsRelayedWithoutData()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.JoinAsync("call");
        await using SignalTestClient bob = await server.JoinAsync("call");

        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}"}""");

        ServerMessage got = await bob.ExpectAsync("message");
        Assert.Equal(ann.Id, got.Str("from"));
        Assert.False(got.Has("data"), got.Raw);
    }

    [Fact]
    public async Task Broadcast_ReachesAllOthersButNotTheSender()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        (SignalTestClient ann, SignalTestClient bob, SignalTestClient cy) = await ThreeAsync(server);
        await using (ann)
        await using (bob)
        await using (cy)
        await using (SignalTestClient outsider = await server.JoinAsync("other"))
        {
            const string data = """{"chat":"hi all","at":[1,2]}""";
            await bob.SendAsync($$"""{"type":"broadcast","data":{{data}}}""");

            foreach (SignalTestClient other in new[] { ann, cy })
            {
                ServerMessage got = await other.ExpectAsync("broadcast");
                Assert.Equal(bob.Id, got.Str("from"));
                Assert.Equal(data, got.DataText);
            }

            await bob.ExpectNothingAsync();
            await outsider.ExpectNothingAsync();
        }
    }

    [Fact]
    public async Task Addressed_ToAPeerNotInTheRoom_ReturnsUnknownPeer()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.JoinAsync("call");
        await using SignalTestClient elsewhere = await server.JoinAsync("other");

        await ann.SendAsync("""{"type":"offer","to":"000000000000","data":{},"id":"m1"}""");
        ServerMessage error = await ann.ExpectErrorAsync(SignalError.UnknownPeer);
        Assert.Equal("m1", error.Str("id"));

        await ann.SendAsync($$"""{"type":"message","to":"{{elsewhere.Id}}","data":"psst"}""");
        await ann.ExpectErrorAsync(SignalError.UnknownPeer);
        await elsewhere.ExpectNothingAsync();
    }

    [Fact]
    public async Task Addressed_ToItself_ReturnsUnknownPeer()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.JoinAsync("call");

        await ann.SendAsync($$"""{"type":"message","to":"{{ann.Id}}","data":1}""");

        await ann.ExpectErrorAsync(SignalError.UnknownPeer);
    }

    [Fact]
    public async Task Addressed_WithoutTo_ReturnsBadRequest()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.JoinAsync("call");

        await ann.SendAsync("""{"type":"candidate","data":{}}""");

        await ann.ExpectErrorAsync(SignalError.BadRequest);
    }

    [Theory]
    [InlineData("""{"type":"offer","to":"000000000000","data":{}}""")]
    [InlineData("""{"type":"message","to":"000000000000","data":"x"}""")]
    [InlineData("""{"type":"broadcast","data":{}}""")]
    [InlineData("""{"type":"leave","id":"q"}""")]
    public async Task BeforeJoin_ReturnsNotJoined(string message)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync(message);

        await ann.ExpectErrorAsync(SignalError.NotJoined);
        await ann.JoinAsync("call");
    }

    [Fact]
    public async Task Ping_ReturnsPongWithTheSameId()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Three);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync("""{"type":"ping","id":"p-1"}""");
        Assert.Equal("p-1", (await ann.ExpectAsync("pong")).Str("id"));

        await ann.SendAsync("""{"type":"ping"}""");
        Assert.False((await ann.ExpectAsync("pong")).Has("id"));
    }

    private static async Task<(SignalTestClient Ann, SignalTestClient Bob, SignalTestClient Cy)> ThreeAsync(SignalTestServer server)
    {
        SignalTestClient ann = await server.JoinAsync("call");
        SignalTestClient bob = await server.JoinAsync("call");
        SignalTestClient cy = await server.JoinAsync("call");
        await ann.ExpectAsync("peer-joined");
        await ann.ExpectAsync("peer-joined");
        await bob.ExpectAsync("peer-joined");
        return (ann, bob, cy);
    }
}
