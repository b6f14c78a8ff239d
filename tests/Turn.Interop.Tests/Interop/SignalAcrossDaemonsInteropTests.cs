using System.Text.Json.Nodes;
using Turn.Signal;
using Turn.Tests.Attack;
using Turn.Tests.Signal;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// Two `turn serve` daemons with Signal:Redis pointing at one real redis-server: rooms span
/// them; and when Redis goes away each keeps serving the rooms it can.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class SignalAcrossDaemonsInteropTests
{
    private static Task<AttackDaemon> StartAsync(RedisServer redis)
        => AttackDaemon.StartAsync(config => config["Signal"] = new JsonObject { ["Redis"] = redis.Configuration }, http: true);

    [Fact]
    public async Task PeersJoinedOnTwoDaemons_ShareTheRoom()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using AttackDaemon one = await StartAsync(redis);
        await using AttackDaemon two = await StartAsync(redis);

        await using SignalTestClient ann = await SignalTestClient.ConnectAsync(one.Signal);
        await ann.JoinAsync("lobby", "Ann");
        await using SignalTestClient bob = await SignalTestClient.ConnectAsync(two.Signal);
        ServerMessage joined = await bob.JoinAsync("lobby", "Bob");
        Assert.Equal(ann.Id, joined.Get("peers")[0].GetProperty("id").GetString());
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-joined")).Get("peer").GetProperty("id").GetString());

        await bob.SendAsync($$"""{"type":"candidate","to":"{{ann.Id}}","data":"c1"}""");
        Assert.Equal("c1", (await ann.ExpectAsync("candidate")).Get("data").GetString());
        await ann.SendAsync("""{"type":"broadcast","data":"hi"}""");
        Assert.Equal("hi", (await bob.ExpectAsync("broadcast")).Get("data").GetString());

        // What an operator sees: Redis connected, events both ways, no errors.
        Assert.Equal(1, await one.MetricAsync("turn_signal_backplane_up", null));
        Assert.True(await one.MetricAsync("turn_signal_backplane_events_total", "direction=\"out\"") >= 2);
        Assert.True(await one.MetricAsync("turn_signal_backplane_events_total", "direction=\"in\"") >= 2);
        Assert.Equal("0", await SeriesAsync(two, "turn_signal_backplane_errors_total"));
    }

    [Fact]
    public async Task APeerResumes_ThroughTheOtherDaemon()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using AttackDaemon one = await StartAsync(redis);
        await using AttackDaemon two = await StartAsync(redis);
        await using SignalTestClient ann = await SignalTestClient.ConnectAsync(one.Signal);
        await ann.JoinAsync("lobby");
        await using SignalTestClient bob = await SignalTestClient.ConnectAsync(two.Signal);
        await bob.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");

        bob.Socket.Abort();
        await using SignalTestClient again = await SignalTestClient.ConnectAsync(one.Signal);
        Assert.Equal(bob.Id, (await again.ResumeAsync(bob.ResumeToken)).Get("id").GetString());
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"welcome back"}""");
        Assert.Equal("welcome back", (await again.ExpectAsync("message")).Get("data").GetString());
    }

    [Fact]
    public async Task WithRedisGone_EachDaemonServesItsOwnRooms()
    {
        RedisServer redis = await RedisServer.StartAsync();
        await using AttackDaemon one = await StartAsync(redis);
        await using SignalTestClient ann = await SignalTestClient.ConnectAsync(one.Signal);
        await ann.JoinAsync("lobby");
        await redis.DisposeAsync();

        // A join waits on Redis for at most a second, then is served here.
        await using SignalTestClient bob = await SignalTestClient.ConnectAsync(one.Signal);
        await bob.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");
        await bob.SendAsync($$"""{"type":"message","to":"{{ann.Id}}","data":"still here"}""");
        Assert.Equal("still here", (await ann.ExpectAsync("message")).Get("data").GetString());
        // Exported as 0, not absent (MetricAsync reads an absent series as 0 too).
        Assert.Equal("0", await SeriesAsync(one, "turn_signal_backplane_up"));
        Assert.True(await one.MetricAsync("turn_signal_backplane_errors_total", null) >= 1);

        // Redis returns on its port, empty: without a restart the daemon connects again and puts
        // its members back, so a peer joining through another daemon finds both.
        await using RedisServer again = await RedisServer.StartAsync(redis.Port);
        await using AttackDaemon two = await StartAsync(again);
        for (int i = 0; i < 100 && await SeriesAsync(one, "turn_signal_backplane_up") != "1"; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal("1", await SeriesAsync(one, "turn_signal_backplane_up"));
        string[] peers = [];
        for (int attempt = 0; attempt < 20 && peers.Length < 2; attempt++)
        {
            await using SignalTestClient probe = await SignalTestClient.ConnectAsync(two.Signal);
            peers = [.. (await probe.JoinAsync("lobby")).Get("peers").EnumerateArray().Select(p => p.GetProperty("id").GetString()!)];
            await probe.SendAsync("""{"type":"leave"}""");
            await Task.Delay(attempt == 0 ? 0 : 200);
        }

        Assert.Equal(new[] { ann.Id, bob.Id }.Order(), peers.Order());
        await using SignalTestClient cy = await SignalTestClient.ConnectAsync(two.Signal);
        await cy.JoinAsync("lobby");
        await cy.SendAsync($$"""{"type":"message","to":"{{ann.Id}}","data":"across again"}""");
        Assert.Equal("across again", (await ann.NextOfTypeAsync("message")).Get("data").GetString());
    }

    [Fact]
    public async Task ADaemonKilled_ItsPeersResumeOnTheOther_OrLeaveTheRoom()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using AttackDaemon one = await StartAsync(redis);
        await using AttackDaemon two = await StartAsync(redis);
        await using SignalTestClient ann = await SignalTestClient.ConnectAsync(one.Signal);
        await ann.JoinAsync("lobby");
        await using SignalTestClient bob = await SignalTestClient.ConnectAsync(two.Signal);
        await bob.JoinAsync("lobby");
        await using SignalTestClient cy = await SignalTestClient.ConnectAsync(two.Signal);
        await cy.JoinAsync("lobby");
        await ann.ExpectAsync("peer-joined");
        await ann.ExpectAsync("peer-joined");

        // SIGKILL: no leave is said. Bob resumes through the first daemon at once, with his id
        // and seat; Cy does not come back, and leaves Ann's room once the dead daemon's
        // liveness lapses (15 s) and a sweep (every 5 s) sees it.
        await two.Process.SignalAsync("KILL");
        Assert.True(await two.Process.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        await using SignalTestClient bobAgain = await SignalTestClient.ConnectAsync(one.Signal);
        Assert.Equal(bob.Id, (await bobAgain.ResumeAsync(bob.ResumeToken)).Get("id").GetString());
        ServerMessage left = await ann.NextAsync("Cy's leave", TimeSpan.FromSeconds(30));
        Assert.True(left.Type == "peer-left" && left.Get("id").GetString() == cy.Id, left.Raw);
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"still with us"}""");
        Assert.Equal("still with us", (await bobAgain.NextOfTypeAsync("message")).Get("data").GetString());
    }

    /// <summary>The value of a series without labels as /metrics prints it; null when absent.</summary>
    private static async Task<string?> SeriesAsync(AttackDaemon daemon, string name)
    {
        using var http = new HttpClient();
        string text = await http.GetStringAsync(new Uri(daemon.Http, "metrics"));
        return text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal))?[(name.Length + 1)..];
    }
}
