using System.Globalization;
using System.Text.Json;
using Turn.Tests.Attack;
using Turn.Tests.Signal;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// The demo page across two `turn serve` daemons that share rooms through a real redis-server
/// (Signal:Redis), in headless Chromium and Firefox (tests/browser/demo-test.mjs --base2):
/// alice's page and signaling reach the first daemon through a loopback TCP forwarder the script
/// runs (a load balancer), bob's page is served by the second. They join one room, chat and make
/// a relay-only call with fake camera and microphone, each side relayed by its own daemon, and
/// both decode video through relay candidates. Then the forwarder fails over to the second daemon
/// and alice's WebSocket drops: she resumes there with the same peer id and gets what bob sent
/// while she was away, the first daemon lets her seat go (both daemons list her once, connected), bob sees no leave or join, and the call
/// goes on. Both daemons show the Redis link up and room events coming in on /metrics.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class DemoAcrossDaemonsTests(ITestOutputHelper output)
{
    // One TURN secret, API key and join-token secret for both: what either mints, the other takes.
    private const string TurnSecret = "demo-across-secret-0123456789abcdef";
    private const string ApiKey = "demo-across-api-key-0123456789-0123456789";
    private const string JoinTokenSecret = "demo-across-join-secret-0123456789-0123456";

    [Theory]
    [InlineData("chromium")]
    [InlineData("firefox")]
    public async Task DemoPagesOnTwoDaemons_CallThroughTheRelay_AndResumeOnTheOtherDaemon(string browser)
    {
        string browserDirectory = BrowserPrerequisites.Require();
        await using RedisServer redis = await RedisServer.StartAsync();
        int[] ports = LoopbackPorts.Take(4);
        // Below the kernel's ephemeral ports and apart from the other browser tests' 61000-65399:
        // 200 relay ports for each daemon.
        int relayMin = 16000 + (Random.Shared.Next(0, 10) * 400);
        await using DaemonProcess one = await StartAsync(redis, ports[0], ports[1], relayMin);
        await using DaemonProcess two = await StartAsync(redis, ports[2], ports[3], relayMin + 200);
        string baseOne = $"http://127.0.0.1:{ports[1]}";
        string baseTwo = $"http://127.0.0.1:{ports[3]}";

        JsonElement line = await DemoPageRun.RunAsync(
            output,
            browserDirectory,
            [
                "--base", baseOne,
                "--base2", baseTwo,
                "--api-key", ApiKey,
                "--join-token-secret", JoinTokenSecret,
                "--timeout-ms", "30000",
                .. browser == "firefox" ? new[] { "--firefox", BrowserPrerequisites.Firefox } : [],
            ],
            () => $"=== daemon one ===\n{one.Describe()}\n=== daemon two ===\n{two.Describe()}");

        string alice = line.GetProperty("alice").GetString()!;
        JsonElement[] steps = [.. line.GetProperty("steps").EnumerateArray()];
        JsonElement Step(string name)
            => steps.FirstOrDefault(s => s.GetProperty("step").GetString() == name) is { ValueKind: JsonValueKind.Object } found
                ? found
                : throw new Xunit.Sdk.XunitException($"no step \"{name}\" in {line.GetProperty("steps").GetRawText()}");

        JsonElement pairs = Step("media relayed").GetProperty("pairs");
        foreach (string side in new[] { "alice", "bob" })
        {
            Assert.Equal("relay", pairs.GetProperty(side).GetProperty("local").GetString());
            Assert.Equal("relay", pairs.GetProperty(side).GetProperty("remote").GetString());
            Assert.True(line.GetProperty("framesDecoded").GetProperty(side).GetInt32() > 0, $"{side} decoded no video");
        }

        JsonElement dropped = Step("alice dropped");
        Assert.True(dropped.GetProperty("serverSawAway").GetBoolean(), "daemon one did not show alice away");
        Assert.Equal(baseTwo, dropped.GetProperty("failover").GetString());
        JsonElement resumed = Step("alice resumed");
        Assert.Equal(alice, resumed.GetProperty("id").GetString());
        Assert.Equal(baseTwo, resumed.GetProperty("on").GetString());
        Assert.Equal(0, resumed.GetProperty("bobPeerEvents").GetInt32());
        Assert.Equal(2, resumed.GetProperty("keptMessages").GetInt32());
        Assert.True(Step("call survived").GetProperty("bobFramesDecoded").GetInt32() > 0);

        // What an operator sees on each daemon: the Redis link up, room events coming in from the
        // other daemon, no Redis errors, and media relayed (each side of the call has its own relay).
        foreach ((string name, string baseUrl) in new[] { ("one", baseOne), ("two", baseTwo) })
        {
            string metrics = await MetricsAsync(baseUrl);
            Assert.True(Sum(metrics, "turn_signal_backplane_up", "") == 1, $"daemon {name}: Redis is not shown as up\n{metrics}");
            Assert.True(Sum(metrics, "turn_signal_backplane_events_total", "direction=\"in\"") > 0, $"daemon {name}: no backplane event came in\n{metrics}");
            Assert.True(Sum(metrics, "turn_signal_backplane_events_total", "direction=\"out\"") > 0, $"daemon {name}: no backplane event went out\n{metrics}");
            Assert.True(Sum(metrics, "turn_signal_backplane_errors_total", "") == 0, $"daemon {name}: Redis errors\n{metrics}");
            Assert.True(Sum(metrics, "turn_relayed_packets_total", "direction=\"to_client\"") > 100, $"daemon {name}: the call's media was not relayed\n{metrics}");
        }
    }

    private static async Task<DaemonProcess> StartAsync(RedisServer redis, int stunPort, int httpPort, int relayMin)
    {
        var config = new
        {
            Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = stunPort, TcpPort = stunPort, Transports = new[] { "udp", "tcp" } },
            Http = new { Urls = new[] { $"http://127.0.0.1:{httpPort}" } },
            Auth = new { Realm = "demo", Secrets = new[] { TurnSecret } },
            Relay = new { Addresses = new[] { "127.0.0.1" }, UnsafeAllowLoopbackPeers = true, MinPort = relayMin, MaxPort = relayMin + 199 },
            Signal = new { ApiKey, JoinTokenSecret, Redis = redis.Configuration },
        };
        DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"]);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            await AttackDaemon.WaitForHttpAsync(http, new Uri($"http://127.0.0.1:{httpPort}/healthz"), daemon);
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    private static async Task<string> MetricsAsync(string baseUrl)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return await http.GetStringAsync(new Uri($"{baseUrl}/metrics"));
    }

    /// <summary>The sum of a metric's series whose labels contain <paramref name="labels"/> ("" for all, or a series without labels).</summary>
    private static double Sum(string metrics, string name, string labels)
        => metrics.Split('\n')
            .Where(l => (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)) && l.Contains(labels, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
