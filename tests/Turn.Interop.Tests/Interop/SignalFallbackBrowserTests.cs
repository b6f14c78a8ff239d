using System.Globalization;
using System.Text.Json;
using Turn.Tests.Attack;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// Signaling where WebSockets are blocked, in headless Chromium (tests/browser/fallback-test.mjs):
/// two pages whose WebSocket never opens fall back to the HTTP transport by themselves, join a
/// room with a WebSocket page, chat, and one of them makes a relay-only call with it; then its
/// polls are dropped and it resumes with the same id over a new session, getting what was sent
/// to it meanwhile, while the others see no leave or join.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class SignalFallbackBrowserTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PagesWithoutWebSockets_JoinChatAndCall_AWebSocketPage_AndResumeAfterADroppedPoll()
    {
        string browserDirectory = BrowserPrerequisites.Require();
        int[] ports = LoopbackPorts.Take(2);
        (int stunPort, int httpPort) = (ports[0], ports[1]);
        int relayMin = 30000 + (Random.Shared.Next(0, 10) * 200);
        var config = new
        {
            Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = stunPort, TcpPort = stunPort, Transports = new[] { "udp", "tcp" } },
            Http = new { Urls = new[] { $"http://127.0.0.1:{httpPort}" } },
            Auth = new { Realm = "fallback", Secrets = new[] { "fallback-secret-0123456789abcdef" } },
            Relay = new { Addresses = new[] { "127.0.0.1" }, UnsafeAllowLoopbackPeers = true, MinPort = relayMin, MaxPort = relayMin + 199 },
        };
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await AttackDaemon.WaitForHttpAsync(http, new Uri($"http://127.0.0.1:{httpPort}/healthz"), daemon);

        JsonElement line = await DemoPageRun.RunAsync(
            output,
            browserDirectory,
            ["--base", $"http://127.0.0.1:{httpPort}", "--chromium", BrowserPrerequisites.Chromium, "--timeout-ms", "30000"],
            daemon.Describe,
            script: "fallback-test.mjs");
        string steps = line.GetProperty("steps").GetRawText();
        Assert.Contains("\"alice\":\"polling\",\"bob\":\"polling\",\"carol\":\"websocket\"", steps, StringComparison.Ordinal);
        Assert.Contains("alice resumed", steps, StringComparison.Ordinal);

        // The operator sees the fallback's sessions apart: the one the resume took over from
        // closed as resumed elsewhere, and the signaling that set up the call went through it.
        string metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/metrics"));
        double Value(string series) => metrics.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(series.Length + 1)..], CultureInfo.InvariantCulture)).SingleOrDefault();
        Assert.True(Value("turn_signal_disconnects_total{reason=\"resumed_elsewhere\",transport=\"polling\"}") >= 1, metrics);
        Assert.True(Value("turn_signal_messages_total{type=\"offer\"}") >= 1, metrics);
        Assert.True(Value("turn_signal_resumes_total") >= 1, metrics);
    }
}
