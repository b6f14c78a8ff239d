using System.Text;
using System.Text.Json;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>With JoinTokenSecret set, a join needs a token signed with it for that room and not expired.</summary>
public sealed class SignalJoinTokenTests
{
    private const string Secret = "join-token-secret-0123456789-0123456789";

    private static SignalOptions WithSecret => new() { JoinTokenSecret = Secret, MaxPeersPerRoom = 4, ResumeGraceSeconds = 2 };

    private static long InAnHour => DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600;

    public static TheoryData<string, string?> BadTokens => new()
    {
        { "missing", null },
        { "empty", "" },
        { "garbage", "not-a-token" },
        { "bad signature", JoinToken.Create("another-secret", "room", InAnHour) },
        { "expired", JoinToken.Create(Secret, "room", DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5) },
        { "wrong room", JoinToken.Create(Secret, "other-room", InAnHour) },
        { "payload changed", Tamper(JoinToken.Create(Secret, "other-room", InAnHour), "room") },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Join_WithABadToken_ReturnsBadTokenAndSeatsNobody(string why, string? token)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithSecret);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync(JsonSerializer.Serialize(new { type = "join", room = "room", token, id = why }));

        Assert.Equal(why, (await ann.ExpectErrorAsync(SignalError.BadToken)).Str("id"));
        Assert.Equal(0, server.Hub.PeerCount);
        await ann.JoinAsync("room", token: JoinToken.Create(Secret, "room", InAnHour));
    }

    [Fact]
    public async Task Join_WithAValidToken_Joins()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithSecret);
        await using SignalTestClient ann = await server.ConnectAsync();

        ServerMessage joined = await ann.JoinAsync("room", token: JoinToken.Create(Secret, "room", InAnHour));

        Assert.Equal("room", joined.Str("room"));
    }

    [Fact]
    public async Task Join_WithAStarToken_JoinsAnyRoom()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithSecret);
        await using SignalTestClient ann = await server.ConnectAsync();
        await using SignalTestClient bob = await server.ConnectAsync();
        string token = JoinToken.Create(Secret, "*", InAnHour);

        await ann.JoinAsync("one", token: token);
        await bob.JoinAsync("two", token: token);
    }

    [Fact]
    public async Task Resume_DoesNotNeedTheToken()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithSecret);
        await using SignalTestClient ann = await server.ConnectAsync();
        await ann.JoinAsync("room", token: JoinToken.Create(Secret, "room", InAnHour));
        await ann.CloseAsync();
        await server.WaitUntilAwayAsync("room", ann.Id);

        await using SignalTestClient again = await server.ConnectAsync();
        ServerMessage joined = await again.ResumeAsync(ann.ResumeToken);

        Assert.Equal(ann.Id, joined.Str("id"));
    }

    [Fact]
    public async Task Join_WithoutASecret_IgnoresTokens()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(WithSecret with { JoinTokenSecret = null });
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.JoinAsync("room", token: "anything");
    }

    /// <summary>The token's payload swapped for one naming <paramref name="room"/>, the signature kept.</summary>
    private static string Tamper(string token, string room)
    {
        string payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { room, exp = InAnHour })))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return payload + token[token.IndexOf('.', StringComparison.Ordinal)..];
    }
}
