using System.Globalization;
using System.Text.Json;
using Turn.Tests.Attack;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// The demo page's group call and file transfer in real browsers (tests/browser/group-test.mjs),
/// relay only, on `turn serve`:
/// <list type="bullet">
/// <item>five pages in one room, one of them in Firefox ESR and the others in Chromium, the call
/// limit lowered to four: four join the call and form a full mesh in which every page decodes
/// every other's video through relay candidates at both ends; the fifth is refused with a note
/// that the call is full; a mute shows on the others' tiles; one leaves the call and the fifth
/// takes its place; one leaves the room; every time the tiles follow and the remaining pairs
/// keep decoding;</item>
/// <item>5 MiB of random bytes made by the test, sent each way at once over one data channel
/// between Chromium and Chromium or Firefox, arrive with the SHA-256 the test computed; a file
/// whose trailer announces another SHA-256 is reported as a mismatch to both sides.</item>
/// </list>
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class GroupCallTests(ITestOutputHelper output)
{
    private const string ApiKey = "group-api-key-0123456789-0123456789";
    private const string JoinTokenSecret = "group-join-secret-0123456789-0123456789";

    [Fact]
    public async Task FourInARelayOnlyMeshWithFirefox_AllDecode_TheFifthIsRefused_ThenOneLeavesAndAnotherJoins()
    {
        string browserDirectory = BrowserPrerequisites.Require();
        await using Daemon daemon = await Daemon.StartAsync();

        JsonElement line = await RunAsync(browserDirectory, daemon, "call", ["--firefox", BrowserPrerequisites.Firefox]);

        Assert.Equal("firefox", line.GetProperty("people").GetProperty("cat").GetProperty("browser").GetString());
        JsonElement[] steps = [.. line.GetProperty("steps").EnumerateArray()];
        foreach (string name in new[] { "mesh of four", "data channel to everyone", "fifth refused", "mute and camera shown", "dan left the call", "eve joined the call", "ben left the room" })
        {
            Assert.True(steps.Any(s => s.GetProperty("step").GetString() == name), $"no step \"{name}\" in {line.GetProperty("steps").GetRawText()}");
        }

        foreach ((string step, string[] members) in new[] { ("mesh of four", new[] { "ann", "ben", "cat", "dan" }), ("eve joined the call", new[] { "ann", "ben", "cat", "eve" }) })
        {
            JsonElement mesh = steps.Single(s => s.GetProperty("step").GetString() == step).GetProperty("mesh");
            foreach (string member in members)
            {
                JsonElement seen = mesh.GetProperty(member);
                Assert.Equal(members.Where(m => m != member).Order(), seen.EnumerateObject().Select(p => p.Name).Order());
                foreach (JsonProperty other in seen.EnumerateObject())
                {
                    Assert.True(other.Value.GetProperty("frames").GetInt32() > 0, $"{step}: {member} decoded nothing from {other.Name}");
                    Assert.StartsWith("relay/", other.Value.GetProperty("pair").GetString(), StringComparison.Ordinal);
                }
            }
        }

        // Every connection was relayed by the daemon, and none was refused for the shared address.
        string metrics = await daemon.MetricsAsync();
        Assert.True(Sum(metrics, "turn_relayed_packets_total", "direction=\"to_client\"") > 1000, $"a four-way video call relays more than that\n{metrics}");
        Assert.True(Sum(metrics, "turn_allocations_refused_total", "") == 0, $"allocations were refused\n{metrics}");
    }

    [Theory]
    [InlineData("chromium")]
    [InlineData("firefox")]
    public async Task FiveMegabytesEachWayOverARelayedDataChannel_ArriveWithTheirSha256(string browser)
    {
        string browserDirectory = BrowserPrerequisites.Require();
        await using Daemon daemon = await Daemon.StartAsync();

        JsonElement line = await RunAsync(
            browserDirectory,
            daemon,
            "file",
            ["--file-bytes", (5 * 1024 * 1024).ToString(CultureInfo.InvariantCulture), .. browser == "firefox" ? new[] { "--firefox", BrowserPrerequisites.Firefox } : []]);

        Assert.Equal(browser, line.GetProperty("people").GetProperty("ben").GetProperty("browser").GetString());
        JsonElement[] steps = [.. line.GetProperty("steps").EnumerateArray()];
        JsonElement staged = steps.Single(s => s.GetProperty("step").GetString() == "files staged");
        JsonElement received = steps.Single(s => s.GetProperty("step").GetString() == "files received");
        Assert.Equal(5 * 1024 * 1024, received.GetProperty("bytes").GetInt32());
        Assert.Equal(staged.GetProperty("sha256").GetProperty("ann").GetString(), received.GetProperty("ann to ben").GetProperty("sha256").GetString());
        Assert.Equal(staged.GetProperty("sha256").GetProperty("ben").GetString(), received.GetProperty("ben to ann").GetProperty("sha256").GetString());
        JsonProperty[] sides = [.. received.GetProperty("pairs").EnumerateObject()];
        Assert.Equal(["ann", "ben"], sides.Select(s => s.Name).Order(StringComparer.Ordinal));
        foreach (JsonProperty side in sides)
        {
            Assert.StartsWith("relay/", side.Value.GetProperty("ann".Equals(side.Name, StringComparison.Ordinal) ? "ben" : "ann").GetProperty("pair").GetString(), StringComparison.Ordinal);
        }

        Assert.Contains("SHA-256 mismatch", steps.Single(s => s.GetProperty("step").GetString() == "mismatch reported").GetProperty("error").GetString(), StringComparison.Ordinal);

        // The bytes went through the relay: 10 MiB in all, both ways.
        string metrics = await daemon.MetricsAsync();
        Assert.True(Sum(metrics, "turn_relayed_bytes_total", "direction=\"to_peer\"") > 10 * 1024 * 1024, $"the files did not go through the relay\n{metrics}");
    }

    private Task<JsonElement> RunAsync(string browserDirectory, Daemon daemon, string scenario, IReadOnlyList<string> extra)
        => DemoPageRun.RunAsync(
            output,
            browserDirectory,
            ["--base", daemon.BaseUrl, "--scenario", scenario, "--api-key", ApiKey, "--join-token-secret", JoinTokenSecret, "--timeout-ms", "40000", .. extra],
            daemon.Process.Describe,
            script: "group-test.mjs",
            timeoutSeconds: 120);

    /// <summary>The sum of a metric's series whose labels contain <paramref name="labels"/> ("" for all).</summary>
    private static double Sum(string metrics, string name, string labels)
        => metrics.Split('\n')
            .Where(l => (l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)) && l.Contains(labels, StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    /// <summary>`turn serve` on loopback for the pages: TURN over UDP and TCP, relay ports of its own, signaling with an API key and join tokens.</summary>
    private sealed class Daemon(DaemonProcess process, int httpPort) : IAsyncDisposable
    {
        public DaemonProcess Process { get; } = process;

        public string BaseUrl { get; } = $"http://127.0.0.1:{httpPort}";

        public static async Task<Daemon> StartAsync()
        {
            int[] ports = LoopbackPorts.Take(2);
            (int stunPort, int httpPort) = (ports[0], ports[1]);
            // 200 relay ports in 24000-29999, apart from the other browser tests' ranges
            // (16000-19999 across daemons, 61000-65399 for the rest) and below the ephemeral ports.
            int relayMin = 24000 + (Random.Shared.Next(0, 30) * 200);
            var config = new
            {
                Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = stunPort, TcpPort = stunPort, Transports = new[] { "udp", "tcp" } },
                Http = new { Urls = new[] { $"http://127.0.0.1:{httpPort}" } },
                Auth = new { Realm = "group", Secrets = new[] { "group-secret-0123456789abcdef" } },
                Relay = new { Addresses = new[] { "127.0.0.1" }, UnsafeAllowLoopbackPeers = true, MinPort = relayMin, MaxPort = relayMin + 199 },
                Signal = new { ApiKey, JoinTokenSecret },
            };
            DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"]);
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                await AttackDaemon.WaitForHttpAsync(http, new Uri($"http://127.0.0.1:{httpPort}/healthz"), daemon);
                return new Daemon(daemon, httpPort);
            }
            catch
            {
                await daemon.DisposeAsync();
                throw;
            }
        }

        public async Task<string> MetricsAsync()
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            return await http.GetStringAsync(new Uri($"{BaseUrl}/metrics"));
        }

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }
}
