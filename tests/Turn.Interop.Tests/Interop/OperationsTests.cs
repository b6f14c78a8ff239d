using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Turn.Tests.Deploy;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// The operator's side of a running `turn serve`: /metrics while turnutils_uclient relays, the
/// systemd notify protocol on a socket the test owns, reload under load, and drain.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class OperationsTests
{
    private const string User = "alice";
    private const string Password = "alicepw";
    private const string AdminKey = "admin-key-0123456789";

    private static readonly TimeSpan UclientTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Metrics_WhileAndAfterUclientRelays_CountExactlyWhatWasRelayed()
    {
        await using Running turn = await Running.StartAsync();
        await using PeerProcess peer = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, LoopbackPorts.TakeOne()));
        string before = await turn.ScrapeAsync();
        Assert.Equal(0, Value(before, "turn_relayed_packets_total", "direction=\"to_peer\",transport=\"udp\""));

        // 2 sessions of 200 messages, one every 20 ms: about 4 s of traffic to scrape in the middle of.
        Task<ToolResult> run = ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 200, sessions: 2, user: User, password: Password), UclientTimeout);
        double during = 0;
        for (int i = 0; i < 200 && !run.IsCompleted && during == 0; i++)
        {
            await Task.Delay(50);
            during = Value(await turn.ScrapeAsync(), "turn_relayed_packets_total", "direction=\"to_peer\",transport=\"udp\"");
        }

        ToolResult result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
        (long sent, long received) = UclientOutput.Totals(result.StandardOutput) ?? throw new Xunit.Sdk.XunitException($"no totals in uclient's output\n{result}");

        // A WebSocket peer joins, so the signaling gauges have something to show.
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{turn.HttpPort}/signal"), CancellationToken.None);
        Assert.Contains("\"joined\"", await SendAndReceive(socket, """{"type":"join","room":"metrics"}"""), StringComparison.Ordinal);

        string after = await turn.ScrapeAsync();
        Assert.True(during > 0 && during < sent, $"a scrape during the run saw {during} packets relayed to the peer, of {sent} in the end: counters move as traffic flows");
        Assert.Equal(sent, Value(after, "turn_relayed_packets_total", "direction=\"to_peer\",transport=\"udp\""));
        Assert.Equal(received, Value(after, "turn_relayed_packets_total", "direction=\"to_client\",transport=\"udp\""));
        Assert.Equal(sent * 120, Value(after, "turn_relayed_bytes_total", "direction=\"to_peer\",transport=\"udp\""));
        double created = Value(after, "turn_allocations_created_total", "transport=\"udp\"");
        Assert.True(created >= 2, $"allocations created: {created}");
        Assert.Equal(created, Value(after, "turn_requests_total", "method=\"allocate\",code=\"success\""));
        Assert.True(Value(after, "turn_requests_total", "method=\"allocate\",code=\"401\"") >= 2, "every allocation starts with a 401 challenge");
        Assert.Equal(0, Value(after, "turn_allocations_refused_total", "reason=\"auth_failed\""));
        Assert.True(Value(after, "turn_requests_total", "method=\"channel_bind\",code=\"success\"") >= 2);
        Assert.True(Value(after, "turn_request_duration_seconds_count", "method=\"allocate\"") >= created);
        Assert.Equal(1, Value(after, "turn_signal_connections", "transport=\"websocket\""));
        Assert.Equal(0, Value(after, "turn_signal_connections", "transport=\"polling\""));
        Assert.Equal(1, Value(after, "turn_signal_peers", ""));
        Assert.Equal(1, Value(after, "turn_signal_rooms", ""));
        Assert.Equal(1, Value(after, "turn_signal_messages_total", "type=\"join\""));
        Assert.Equal(1, Value(after, "turn_ready", ""));
        Assert.Equal(0, Value(after, "turn_draining", ""));

        // No label names a user, a peer or a room.
        Assert.DoesNotContain(User, after, StringComparison.Ordinal);
        Assert.DoesNotContain("=\"metrics\"", after, StringComparison.Ordinal);

        // Every metric the Grafana dashboard queries is exported.
        string[] missing = [.. DashboardQueries.MetricNames(DashboardQueries.DashboardPath).Where(name => !after.Contains($"# TYPE {name} ", StringComparison.Ordinal))];
        Assert.True(missing.Length == 0, $"the dashboard queries metrics /metrics does not have: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task SystemdNotify_SeesReadyWatchdogReloadingAndStopping()
    {
        using var directory = new TempDirectory();
        string path = Path.Combine(directory.Path, "notify.sock");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(path));
        var received = new List<string>();
        using var stop = new CancellationTokenSource();
        Task reader = Task.Run(async () =>
        {
            byte[] buffer = new byte[4096];
            while (!stop.IsCancellationRequested)
            {
                int count;
                try
                {
                    count = await notify.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                lock (received)
                {
                    received.Add(Encoding.UTF8.GetString(buffer, 0, count));
                }
            }
        });

        string[] Seen()
        {
            lock (received)
            {
                return [.. received];
            }
        }

        async Task Expect(Func<string[], bool> condition, string what, Running turn)
        {
            for (int i = 0; i < 200 && !condition(Seen()); i++)
            {
                await Task.Delay(50);
            }

            Assert.True(condition(Seen()), $"expected {what}; the daemon sent: {string.Join(" | ", Seen())}\n{turn.Daemon.Describe()}");
        }

        // What systemd sets for Type=notify with WatchdogSec=1.
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = path, ["WATCHDOG_USEC"] = "1000000" };
        await using (Running turn = await Running.StartAsync(environment: environment))
        {
            await Expect(s => s.Any(m => m.Contains("READY=1", StringComparison.Ordinal)), "READY=1 once listening", turn);
            await Expect(s => s.Count(m => m.Contains("WATCHDOG=1", StringComparison.Ordinal)) >= 3, "WATCHDOG=1 pings every half second", turn);

            int readyBefore = Seen().Count(m => m.Contains("READY=1", StringComparison.Ordinal));
            await turn.Daemon.SignalAsync("HUP");
            await Expect(s => s.Any(m => m.Contains("RELOADING=1", StringComparison.Ordinal) && m.Contains("MONOTONIC_USEC=", StringComparison.Ordinal)), "RELOADING=1 with MONOTONIC_USEC on SIGHUP", turn);
            await Expect(s => s.Count(m => m.Contains("READY=1", StringComparison.Ordinal)) > readyBefore, "READY=1 again after the reload", turn);
            string[] order = Seen();
            Assert.True(Array.FindLastIndex(order, m => m.Contains("RELOADING=1", StringComparison.Ordinal)) < Array.FindLastIndex(order, m => m.Contains("READY=1", StringComparison.Ordinal)), string.Join(" | ", order));

            await turn.Daemon.SignalAsync("TERM");
            await Expect(s => s.Any(m => m.Contains("STOPPING=1", StringComparison.Ordinal)), "STOPPING=1 on SIGTERM", turn);
            Assert.True(await turn.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(10)), "no allocations: SIGTERM's drain ends at once and the daemon exits");
            Assert.Equal(0, turn.Daemon.ExitCode);
        }

        await stop.CancelAsync();
        await reader;
    }

    [Fact]
    public async Task Reload_WhileUclientRelays_LosesNothingAndTakesTheNewConfiguration()
    {
        await using Running turn = await Running.StartAsync();
        await using PeerProcess peer = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, LoopbackPorts.TakeOne()));
        Task<ToolResult> run = ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 300, sessions: 4, user: User, password: Password), UclientTimeout);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{turn.HttpPort}/signal"), CancellationToken.None);
        Assert.Contains("\"joined\"", await SendAndReceive(socket, """{"type":"join","room":"across-reloads"}"""), StringComparison.Ordinal);

        // While the run goes on: reloads by signal and by the admin API, each with other users,
        // deny list, quotas and signaling limits; and one broken file, which is refused.
        for (int i = 0; i < 4 && !run.IsCompleted; i++)
        {
            await Task.Delay(700);
            turn.Rewrite(config =>
            {
                config["Auth"]!["Users"] = new System.Text.Json.Nodes.JsonArray($"{User}:{Password}", $"bob{i}:bobpw{i}");
                config["Relay"]!["MaxAllocationsPerUser"] = 50 + i;
                config["Relay"]!["AllowedPeers"] = new System.Text.Json.Nodes.JsonArray($"10.{i}.0.0/16");
                config["Signal"] = new System.Text.Json.Nodes.JsonObject { ["MaxPeersPerRoom"] = 10 + i };
            });
            if (i % 2 == 0)
            {
                await turn.Daemon.SignalAsync("HUP");
            }
            else
            {
                using HttpResponseMessage reloaded = await turn.AdminAsync(HttpMethod.Post, "/admin/reload");
                Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
            }
        }

        string good = File.ReadAllText(turn.Daemon.ConfigFile);
        File.WriteAllText(turn.Daemon.ConfigFile, """{ "Relay": { "MaxPort": "many" } }""");
        using (HttpResponseMessage refused = await turn.AdminAsync(HttpMethod.Post, "/admin/reload"))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Contains("Relay:MaxPort", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        File.WriteAllText(turn.Daemon.ConfigFile, good);

        // The WebSocket session opened before the reloads carries on.
        Assert.Contains("\"pong\"", await SendAndReceive(socket, """{"type":"ping","id":"after"}"""), StringComparison.Ordinal);
        Assert.Equal(1, Value(await turn.ScrapeAsync(), "turn_signal_peers", ""));
        ToolResult result = await run;
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(UclientOutput.LostPackets(result.StandardOutput) == 0, $"packets were lost across the reloads\n{result}");
        (long sent, long got) = UclientOutput.Totals(result.StandardOutput)!.Value;
        Assert.True(sent == 1200 && got == 1200, result.ToString());

        string metrics = await turn.ScrapeAsync();
        Assert.True(Value(metrics, "turn_reloads_total", "result=\"ok\"") >= 1, metrics);
        Assert.Equal(1, Value(metrics, "turn_reloads_total", "result=\"refused\""));
        Assert.Contains("refused, the running configuration stays: Relay:MaxPort", turn.Daemon.StandardOutput, StringComparison.Ordinal);

        // The last reload's user works; a user no reload kept does not.
        ToolResult bob = await ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 5, sessions: 1, user: "bob3", password: "bobpw3"), UclientTimeout);
        Assert.True(bob.ExitCode == 0 && UclientOutput.LostPackets(bob.StandardOutput) == 0, bob.ToString());
        ToolResult gone = await ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 5, sessions: 1, user: "bob0", password: "bobpw0"), UclientTimeout);
        Assert.True(gone.ExitCode != 0, $"bob0 was replaced by a later reload and must be refused\n{gone}");
    }

    [Fact]
    public async Task Drain_RefusesNewAllocationsAndJoins_KeepsRunningCallsAndExitsAtTheDeadline()
    {
        // uclient leaves one allocation of each run behind (it never deletes it), so the drain
        // ends at its deadline; with none left it ends at once (DrainCommand_WithWait_...).
        const int Deadline = 20;
        await using Running turn = await Running.StartAsync(drainDeadline: Deadline);
        await using PeerProcess peer = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, LoopbackPorts.TakeOne()));
        Task<ToolResult> call = ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 250, sessions: 1, user: User, password: Password), UclientTimeout);
        for (int i = 0; i < 200 && Value(await turn.ScrapeAsync(), "turn_allocations", "transport=\"udp\",family=\"ipv4\"") == 0; i++)
        {
            await Task.Delay(50);
        }

        using (HttpResponseMessage unauthorized = await turn.Http.PostAsync(new Uri("/admin/drain", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await turn.Http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        using (HttpResponseMessage drain = await turn.AdminAsync(HttpMethod.Post, "/admin/drain"))
        {
            Assert.Equal(HttpStatusCode.Accepted, drain.StatusCode);
        }

        using HttpResponseMessage ready = await turn.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("draining", (await ready.Content.ReadAsStringAsync()).Trim());
        Assert.Equal(HttpStatusCode.OK, (await turn.Http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);

        // A new allocation gets 403; a new signaling join gets "draining".
        ToolResult late = await ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 5, sessions: 1, user: User, password: Password), UclientTimeout);
        Assert.True(late.ExitCode != 0 && late.StandardOutput.Contains("error 403", StringComparison.Ordinal), $"a new Allocate while draining must get 403\n{late}");
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{turn.HttpPort}/signal"), CancellationToken.None);
        Assert.Contains("\"draining\"", await SendAndReceive(socket, """{"type":"join","room":"late"}"""), StringComparison.Ordinal);

        // The call made before the drain carries on to its end; the daemon exits by itself at the deadline.
        ToolResult result = await call;
        Assert.True(result.ExitCode == 0 && UclientOutput.LostPackets(result.StandardOutput) == 0, $"the call in progress must go on untouched\n{result}");
        string metrics = await turn.ScrapeAsync();
        Assert.Equal(1, Value(metrics, "turn_draining", ""));
        Assert.Equal(0, Value(metrics, "turn_ready", ""));
        Assert.True(Value(metrics, "turn_allocations_refused_total", "reason=\"draining\"") >= 1, metrics);
        Assert.True(await turn.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(Deadline + 10)), $"the daemon must exit by the drain deadline\n{turn.Daemon.Describe()}");
        Assert.Equal(0, turn.Daemon.ExitCode);
        Assert.Contains("Drain done with", turn.Daemon.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DrainCommand_WithWait_ReturnsOnceTheDaemonHasDrained()
    {
        await using Running turn = await Running.StartAsync();
        ToolResult noKey = await ToolRunner.RunTurnAsync("drain", "--url", $"http://127.0.0.1:{turn.HttpPort}");
        Assert.True(noKey.ExitCode == 2 && noKey.StandardError.Contains("no admin key", StringComparison.Ordinal), noKey.ToString());

        ToolResult drained = await ToolRunner.RunTurnAsync("drain", "--wait", "--url", $"http://127.0.0.1:{turn.HttpPort}", "--key", AdminKey);
        Assert.True(drained.ExitCode == 0 && drained.StandardOutput.Contains("drained", StringComparison.Ordinal), drained.ToString());
        Assert.True(await turn.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(10)), turn.Daemon.Describe());
    }

    [Fact]
    public async Task AdminApi_WithoutAKeyConfigured_IsOff()
    {
        await using Running turn = await Running.StartAsync(adminKey: null);
        using HttpResponseMessage drain = await turn.AdminAsync(HttpMethod.Post, "/admin/drain");
        Assert.Equal(HttpStatusCode.Forbidden, drain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await turn.Http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task SigTerm_WithAnAllocationLeft_DrainsForTheShutdownTimeThenStops()
    {
        await using Running turn = await Running.StartAsync();
        await using PeerProcess peer = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, LoopbackPorts.TakeOne()));

        // uclient leaves one allocation behind: the drain cannot end early.
        ToolResult run = await ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 5, sessions: 1, user: User, password: Password), UclientTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(Value(await turn.ScrapeAsync(), "turn_allocations", "transport=\"udp\",family=\"ipv4\"") >= 1);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await turn.Daemon.SignalAsync("TERM");
        Assert.True(await turn.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(20)), turn.Daemon.Describe());
        TimeSpan took = clock.Elapsed;
        Assert.True(took >= TimeSpan.FromSeconds(4.5) && took < TimeSpan.FromSeconds(12), $"SIGTERM with Drain:ShutdownSeconds 5 took {took.TotalSeconds:F1} s\n{turn.Daemon.Describe()}");
        Assert.Equal(0, turn.Daemon.ExitCode);
        Assert.Contains("Draining (SIGTERM)", turn.Daemon.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondSigTerm_StopsAtOnceDuringTheDrain()
    {
        await using Running turn = await Running.StartAsync();
        await using PeerProcess peer = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, LoopbackPorts.TakeOne()));
        ToolResult run = await ToolRunner.RunAsync("turnutils_uclient", Uclient(turn.Port, peer.Endpoint, messages: 5, sessions: 1, user: User, password: Password), UclientTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());

        await turn.Daemon.SignalAsync("TERM");
        for (int i = 0; i < 100 && !turn.Daemon.StandardOutput.Contains("Draining (SIGTERM)", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await turn.Daemon.SignalAsync("TERM");
        Assert.True(await turn.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(10)), turn.Daemon.Describe());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the second SIGTERM took {clock.Elapsed.TotalSeconds:F1} s to stop the daemon; the drain allows 5 s\n{turn.Daemon.Describe()}");
        Assert.DoesNotContain("Drain done", turn.Daemon.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sighup_ReloadsADaemonStartedUnderNohup()
    {
        // nohup starts the daemon with SIGHUP ignored; it must still reload on it.
        int port = LoopbackPorts.TakeOne();
        var config = new { Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = port, Transports = new[] { "udp" } }, Auth = new { Secrets = new[] { "nohup-secret-0123456789" } } };
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{port}"], launcher: ["nohup"]);

        await daemon.SignalAsync("HUP");
        for (int i = 0; i < 100 && !daemon.StandardOutput.Contains("Configuration reloaded (SIGHUP)", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains("Configuration reloaded (SIGHUP)", daemon.StandardOutput, StringComparison.Ordinal);
        Assert.False(daemon.HasExited, daemon.Describe());
    }

    [Fact]
    public async Task Reload_WithANewCertificate_ServesItOnTheNextHandshake()
    {
        var first = new TempDirectory();
        (string firstCertificate, string firstKey) = TestCertificate.WritePem(first);
        using var second = new TempDirectory();
        (string secondCertificate, string secondKey) = TestCertificate.WritePem(second);
        int httpsPort = LoopbackPorts.TakeOne();
        await using Running turn = await Running.StartAsync(
            configure: (config, tls) =>
            {
                config["Http"]!["Urls"]!.AsArray().Add($"https://127.0.0.1:{httpsPort}");
                config["Listen"]!["TlsPort"] = tls;
                config["Listen"]!["Transports"] = new System.Text.Json.Nodes.JsonArray("udp", "tcp", "tls");
                config["Tls"] = new System.Text.Json.Nodes.JsonObject { ["CertificateFile"] = firstCertificate, ["PrivateKeyFile"] = firstKey };
            },
            alsoListening: tls => [$"tls 127.0.0.1:{tls}"],
            directory: first);
        string target = $"stuns:127.0.0.1:{turn.Spare}";
        ToolResult before = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", firstCertificate, "--timeout", "5");
        Assert.True(before.ExitCode == 0, before.ToString());
        Assert.Equal(Thumbprint(firstCertificate), await HttpsThumbprint(httpsPort));

        turn.Rewrite(config => config["Tls"] = new System.Text.Json.Nodes.JsonObject { ["CertificateFile"] = secondCertificate, ["PrivateKeyFile"] = secondKey });
        using (HttpResponseMessage reloaded = await turn.AdminAsync(HttpMethod.Post, "/admin/reload"))
        {
            Assert.Equal(HttpStatusCode.OK, reloaded.StatusCode);
        }

        ToolResult withNew = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", secondCertificate, "--timeout", "5");
        ToolResult withOld = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", firstCertificate, "--timeout", "5");
        Assert.True(withNew.ExitCode == 0, $"the reloaded certificate must be served\n{withNew}");
        Assert.True(withOld.ExitCode != 0, $"the old certificate must be gone\n{withOld}");
        Assert.Equal(Thumbprint(secondCertificate), await HttpsThumbprint(httpsPort));

        // A certificate that cannot be loaded is refused, and the one in use stays.
        turn.Rewrite(config => config["Tls"] = new System.Text.Json.Nodes.JsonObject { ["CertificateFile"] = secondKey, ["PrivateKeyFile"] = secondKey });
        using (HttpResponseMessage refused = await turn.AdminAsync(HttpMethod.Post, "/admin/reload"))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        }

        ToolResult still = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", secondCertificate, "--timeout", "5");
        Assert.True(still.ExitCode == 0, still.ToString());
    }

    internal static string Thumbprint(string pemFile)
    {
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(pemFile));
        return certificate.Thumbprint;
    }

    /// <summary>The thumbprint of the certificate the HTTPS listener presents now (a new connection each time).</summary>
    internal static async Task<string> HttpsThumbprint(int port)
    {
        string? seen = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                seen = certificate?.Thumbprint;
                return true;
            },
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        using HttpResponseMessage response = await client.GetAsync(new Uri($"https://127.0.0.1:{port}/healthz"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return seen ?? "";
    }

    [Fact]
    public async Task MetricsUrls_ServeMetricsOnTheirOwnPortOnly()
    {
        await using Running turn = await Running.StartAsync(configure: (config, port) => config["Metrics"] = new System.Text.Json.Nodes.JsonObject
        {
            ["Urls"] = new System.Text.Json.Nodes.JsonArray($"http://127.0.0.1:{port}"),
        });
        using var metricsPort = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{turn.Spare}"), Timeout = TimeSpan.FromSeconds(10) };

        string metrics = await metricsPort.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        using HttpResponseMessage onMain = await turn.Http.GetAsync(new Uri("/metrics", UriKind.Relative));
        using var claimingTheMetricsPort = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        claimingTheMetricsPort.Headers.Host = $"127.0.0.1:{turn.Spare}";
        using HttpResponseMessage spoofed = await turn.Http.SendAsync(claimingTheMetricsPort);
        using HttpResponseMessage adminOnMetricsPort = await metricsPort.GetAsync(new Uri("/admin/status", UriKind.Relative));

        Assert.Contains("# TYPE turn_allocations gauge", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, onMain.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, spoofed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, adminOnMetricsPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await turn.Http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task UnderJournald_LogLinesCarrySyslogPriorities()
    {
        await using Running turn = await Running.StartAsync(environment: new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:12345" });

        string[] lines = [.. turn.Daemon.StandardOutput.Split('\n').Where(l => l.Contains("Listening on udp", StringComparison.Ordinal))];
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.StartsWith("<6>", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SigUsr1_StartsADrain()
    {
        await using Running turn = await Running.StartAsync();

        await turn.Daemon.SignalAsync("USR1");

        Assert.True(await turn.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(10)), $"with no allocation a drain ends at once\n{turn.Daemon.Describe()}");
        Assert.Equal(0, turn.Daemon.ExitCode);
        Assert.Contains("Draining (SIGUSR1)", turn.Daemon.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Drain done with 0 allocations left", turn.Daemon.StandardOutput, StringComparison.Ordinal);
    }

    private static async Task<string> SendAndReceive(ClientWebSocket socket, string message)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
        byte[] buffer = new byte[16384];
        WebSocketReceiveResult received = await socket.ReceiveAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer, 0, received.Count);
    }

    /// <summary>One sample's value: <paramref name="labels"/> exactly as exported ("" for none); 0 when absent.</summary>
    private static double Value(string exposition, string name, string labels)
    {
        string prefix = labels.Length == 0 ? name + " " : $"{name}{{{labels}}} ";
        foreach (string line in exposition.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[prefix.Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static string[] Uclient(int port, IPEndPoint peer, int messages, int sessions, string user, string password)
        => ["-u", user, "-w", password, "-p", port.ToString(CultureInfo.InvariantCulture), "-e", peer.Address.ToString(), "-r", peer.Port.ToString(CultureInfo.InvariantCulture),
            "-n", messages.ToString(CultureInfo.InvariantCulture), "-m", sessions.ToString(CultureInfo.InvariantCulture), "-l", "120", "-z", "15", "-c", "127.0.0.1"];

    /// <summary>A daemon on free loopback ports with HTTP, an admin key and loopback peers allowed.</summary>
    private sealed class Running : IAsyncDisposable
    {
        private Running(DaemonProcess daemon, int port, int httpPort)
        {
            Daemon = daemon;
            Port = port;
            HttpPort = httpPort;
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        }

        public DaemonProcess Daemon { get; }

        public int Port { get; }

        public int HttpPort { get; }

        public HttpClient Http { get; }

        public string LastScrape { get; private set; } = "";

        /// <summary>One more free loopback port, handed to the configure step (for TLS or metrics).</summary>
        public int Spare { get; private init; }

        public static async Task<Running> StartAsync(
            IReadOnlyDictionary<string, string>? environment = null,
            string? adminKey = AdminKey,
            int drainDeadline = 120,
            Action<System.Text.Json.Nodes.JsonObject, int>? configure = null,
            Func<int, string[]>? alsoListening = null,
            TempDirectory? directory = null)
        {
            int[] ports = LoopbackPorts.Take(2, IPAddress.Loopback);
            int relayMin = 20_000 + (Random.Shared.Next(0, 12) * 1000) + 500;
            var config = new
            {
                Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = ports[0], TcpPort = ports[0], Transports = new[] { "udp", "tcp" } },
                Auth = new { Realm = "test", Users = new[] { $"{User}:{Password}" } },
                Relay = new { Addresses = new[] { "127.0.0.1" }, UnsafeAllowLoopbackPeers = true, MinPort = relayMin, MaxPort = relayMin + 400 },
                Http = new { Urls = new[] { $"http://127.0.0.1:{ports[1]}" } },
                Admin = new { ApiKey = adminKey ?? "" },
                Drain = new { DeadlineSeconds = drainDeadline, ShutdownSeconds = 5 },
            };
            var node = (System.Text.Json.Nodes.JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(config)!;
            int spare = LoopbackPorts.TakeOne();
            configure?.Invoke(node, spare);
            DaemonProcess daemon = await DaemonProcess.StartAsync(node, [$"udp 127.0.0.1:{ports[0]}", $"tcp 127.0.0.1:{ports[0]}", .. alsoListening?.Invoke(spare) ?? []], directory, environment);
            var running = new Running(daemon, ports[0], ports[1]) { Spare = spare };
            for (int i = 0; i < 100; i++)
            {
                try
                {
                    using HttpResponseMessage ready = await running.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
                    if (ready.IsSuccessStatusCode)
                    {
                        return running;
                    }
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(50);
            }

            await running.DisposeAsync();
            throw new Xunit.Sdk.XunitException($"/readyz never answered 200\n{daemon.Describe()}");
        }

        public async Task<string> ScrapeAsync()
        {
            LastScrape = await Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            return LastScrape;
        }

        public async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path)
        {
            using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
            return await Http.SendAsync(request);
        }

        /// <summary>Edits the configuration file in place, as an operator would before a reload.</summary>
        public void Rewrite(Action<System.Text.Json.Nodes.JsonObject> edit)
        {
            var config = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Daemon.ConfigFile))!;
            edit(config);
            File.WriteAllText(Daemon.ConfigFile, config.ToJsonString());
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Daemon.DisposeAsync();
        }
    }
}
