using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// The demo page end to end in headless Chromium (tests/browser/demo-test.mjs): two pages join a
/// room on `turn serve`, chat, make a relay-only call with fake camera and microphone, exchange
/// data-channel messages and decode video through relay candidates on both sides; then one
/// page's WebSocket drops and it resumes with the same peer id, receiving what was sent to it
/// while away, and the other page sees no leave or join.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class DemoPageTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("chromium")]
    [InlineData("firefox")]
    public async Task TwoDemoPages_CallThroughTheRelay_AndResumeAfterADrop(string browser)
    {
        string browserDirectory = BrowserPrerequisites.Require();
        int[] ports = LoopbackPorts.Take(2);
        (int stunPort, int httpPort) = (ports[0], ports[1]);
        int relayMin = 61000 + (Random.Shared.Next(0, 22) * 200);
        var config = new
        {
            Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = stunPort, TcpPort = stunPort, Transports = new[] { "udp", "tcp" } },
            Http = new { Urls = new[] { $"http://127.0.0.1:{httpPort}" } },
            Auth = new { Realm = "demo", Secrets = new[] { "demo-secret-0123456789abcdef" } },
            Relay = new { Addresses = new[] { "127.0.0.1" }, UnsafeAllowLoopbackPeers = true, MinPort = relayMin, MaxPort = relayMin + 199 },
            Signal = new { ApiKey = "demo-api-key-0123456789-0123456789", JoinTokenSecret = "demo-join-secret-0123456789-012345678" },
        };
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"]);
        await WaitForHttp(httpPort);

        JsonElement line = await DemoPageRun.RunAsync(
            output,
            browserDirectory,
            [
                "--base", $"http://127.0.0.1:{httpPort}",
                "--api-key", "demo-api-key-0123456789-0123456789",
                "--join-token-secret", "demo-join-secret-0123456789-012345678",
                "--timeout-ms", "45000",
                .. browser == "firefox" ? new[] { "--firefox", BrowserPrerequisites.Firefox } : [],
            ],
            daemon.Describe);
        string steps = line.GetProperty("steps").GetRawText();
        Assert.Contains("alice resumed", steps, StringComparison.Ordinal);
        Assert.Contains("call survived", steps, StringComparison.Ordinal);

        // The call shows on /metrics: media relayed both ways, and the signaling that set it up.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/metrics"));
        double Sum(string name, string labels)
            => metrics.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains(labels, StringComparison.Ordinal))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        foreach ((string name, string labels) in new[]
        {
            ("turn_relayed_packets_total", "direction=\"to_peer\""),
            ("turn_relayed_packets_total", "direction=\"to_client\""),
            ("turn_allocations_created_total", ""),
            ("turn_signal_messages_total", "type=\"offer\""),
            ("turn_signal_messages_total", "type=\"answer\""),
            ("turn_signal_messages_total", "type=\"candidate\""),
            ("turn_signal_messages_total", "type=\"join\""),
        })
        {
            Assert.True(Sum(name, labels) > 0, $"{name}{{{labels}}} is 0 after the browser call\n{metrics}");
        }

        Assert.True(Sum("turn_relayed_packets_total", "direction=\"to_client\"") > 100, "a video call relays more than a handful of packets");
    }

    private static async Task WaitForHttp(int port)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (int i = 0; i < 50; i++)
        {
            try
            {
                if ((await client.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        Assert.Fail($"turn serve did not answer on http://127.0.0.1:{port}/healthz");
    }
}
