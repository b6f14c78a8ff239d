using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// A real browser through `turn serve`: headless Chromium (Debian's /usr/bin/chromium, driven by
/// playwright-core from tests/browser) opens two RTCPeerConnections with iceTransportPolicy
/// 'relay', sends a thousand messages over an ordered data channel and reads getStats(). Each
/// transport to the server (UDP, TCP, TLS) gets its own call; the selected pair of both
/// connections must be relay-to-relay, i.e. the data crossed two of our allocations.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class BrowserRelayTests(BrowserRelayDaemonFixture server, ITestOutputHelper output) : IClassFixture<BrowserRelayDaemonFixture>
{
    private const int Messages = 1000;

    [Fact]
    public async Task DataChannel_RelayedOverTurnUdp_DeliversAllMessagesInOrder()
    {
        await AssertRelayedCall($"turn:127.0.0.1:{server.UdpPort}?transport=udp", "udp");
    }

    [Fact]
    public async Task DataChannel_RelayedOverTurnTcp_DeliversAllMessagesInOrder()
    {
        await AssertRelayedCall($"turn:127.0.0.1:{server.TcpPort}?transport=tcp", "tcp");
    }

    [Fact]
    public async Task DataChannel_RelayedOverTurnsTls_DeliversAllMessagesInOrder()
    {
        // The certificate is self-signed; --ignore-certificate-errors makes Chromium's TURN TLS
        // client accept it (the test below shows that without it Chromium refuses the handshake).
        await AssertRelayedCall($"turns:127.0.0.1:{server.TlsPort}?transport=tcp", "tls", "--ignore-certificate-errors");
    }

    [Fact]
    public async Task Turns_WithoutAcceptingTheSelfSignedCertificate_GathersNoRelayCandidate()
    {
        string url = $"turns:127.0.0.1:{server.TlsPort}?transport=tcp";

        (ToolResult result, JsonElement line) = await RunBrowser(url);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.False(line.GetProperty("ok").GetBoolean(), result.ToString());
        Assert.Contains("gathered no relay candidate", line.GetProperty("problem").GetString(), StringComparison.Ordinal);
        Assert.Contains("701", line.GetProperty("problem").GetString(), StringComparison.Ordinal);
    }

    private async Task AssertRelayedCall(string url, string relayProtocol, params string[] extraArguments)
    {
        (ToolResult result, JsonElement line) = await RunBrowser(url, extraArguments);
        string context = result + "\n" + server.Daemon.Describe();

        Assert.True(result.ExitCode == 0, context);
        Assert.True(line.GetProperty("ok").GetBoolean(), context);
        Assert.Equal(url, line.GetProperty("url").GetString());
        Assert.Equal(Messages, line.GetProperty("messages").GetInt32());
        Assert.Equal(Messages, line.GetProperty("received").GetInt32());
        Assert.True(line.GetProperty("inOrder").GetBoolean(), context);
        Assert.Equal(relayProtocol, line.GetProperty("relayProtocol").GetString());

        var relayedPorts = new List<int>();
        foreach (string pc in new[] { "pc1", "pc2" })
        {
            JsonElement stats = line.GetProperty(pc);
            JsonElement local = stats.GetProperty("local");
            JsonElement remote = stats.GetProperty("remote");
            Assert.True(local.GetProperty("candidateType").GetString() == "relay", $"{pc} local candidate is not relay\n{context}");
            Assert.True(remote.GetProperty("candidateType").GetString() == "relay", $"{pc} remote candidate is not relay\n{context}");
            Assert.Equal(relayProtocol, local.GetProperty("relayProtocol").GetString());
            Assert.Equal(url, local.GetProperty("url").GetString());

            // Both ends of the pair are relayed addresses this daemon handed out.
            foreach (JsonElement candidate in new[] { local, remote })
            {
                Assert.Equal("127.0.0.1", candidate.GetProperty("address").GetString());
                int port = candidate.GetProperty("port").GetInt32();
                Assert.InRange(port, server.RelayMinPort, server.RelayMaxPort);
            }

            relayedPorts.Add(local.GetProperty("port").GetInt32());
        }

        // Two allocations, each side's remote being the other's relayed address.
        Assert.NotEqual(relayedPorts[0], relayedPorts[1]);
        Assert.Equal(relayedPorts[1], line.GetProperty("pc1").GetProperty("remote").GetProperty("port").GetInt32());
        Assert.Equal(relayedPorts[0], line.GetProperty("pc2").GetProperty("remote").GetProperty("port").GetInt32());
    }

    /// <summary>Runs tests/browser/relay-test.mjs for one URL and returns its result and its JSON line.</summary>
    private async Task<(ToolResult Result, JsonElement Line)> RunBrowser(string url, params string[] extraArguments)
    {
        string browserDirectory = BrowserPrerequisites.Require();
        string[] arguments =
        [
            Path.Combine(browserDirectory, "relay-test.mjs"),
            "--url", url,
            "--username", BrowserRelayDaemonFixture.Username,
            "--credential", BrowserRelayDaemonFixture.Password,
            "--messages", Messages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--timeout-ms", "20000",
            .. extraArguments,
        ];

        ToolResult result = await ToolRunner.RunAsync(BrowserPrerequisites.Node, arguments, TimeSpan.FromSeconds(50), browserDirectory);
        output.WriteLine(result.ToString());

        string? json = result.StandardOutput.Split('\n').LastOrDefault(l => l.TrimStart().StartsWith('{'));
        Assert.True(json is not null, $"relay-test.mjs printed no JSON result\n{result}\n{server.Daemon.Describe()}");
        using JsonDocument document = JsonDocument.Parse(json);
        return (result, document.RootElement.Clone());
    }
}

/// <summary>One `turn serve` on 127.0.0.1 with UDP, TCP and TLS, one user, and relaying allowed between its own loopback allocations.</summary>
public sealed class BrowserRelayDaemonFixture : IAsyncLifetime
{
    public const string Username = "alice";
    public const string Password = "alicepw";

    private DaemonProcess? _daemon;

    public int UdpPort { get; private set; }

    public int TcpPort { get; private set; }

    public int TlsPort { get; private set; }

    public int RelayMinPort { get; private set; }

    public int RelayMaxPort { get; private set; }

    internal DaemonProcess Daemon => _daemon ?? throw new InvalidOperationException("the daemon has not started");

    public async Task InitializeAsync()
    {
        int[] ports = LoopbackPorts.Take(3);
        (UdpPort, TcpPort, TlsPort) = (ports[0], ports[1], ports[2]);

        // Relay ports above Linux's ephemeral range (32768-60999), so the listening ports the
        // kernel just handed out and Chromium's own sockets never fall into it; a random window
        // keeps side-by-side runs apart.
        RelayMinPort = 61000 + (Random.Shared.Next(0, 22) * 200);
        RelayMaxPort = RelayMinPort + 199;

        var directory = new TempDirectory();
        (string certificateFile, string privateKeyFile) = TestCertificate.WritePem(directory);
        var config = new
        {
            Listen = new
            {
                Addresses = new[] { "127.0.0.1" },
                UdpPort,
                TcpPort,
                TlsPort,
                Transports = new[] { "udp", "tcp", "tls" },
            },
            Tls = new { CertificateFile = certificateFile, PrivateKeyFile = privateKeyFile },
            Auth = new { Realm = "test", Users = new[] { $"{Username}:{Password}" } },
            Relay = new
            {
                Addresses = new[] { "127.0.0.1" },
                UnsafeAllowLoopbackPeers = true,
                MinPort = RelayMinPort,
                MaxPort = RelayMaxPort,
            },
        };
        _daemon = await DaemonProcess.StartAsync(
            config,
            [$"udp 127.0.0.1:{UdpPort}", $"tcp 127.0.0.1:{TcpPort}", $"tls 127.0.0.1:{TlsPort}"],
            directory);
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}

/// <summary>
/// What the browser tests need: Node.js, Debian's Chromium and tests/browser's npm packages. A
/// missing piece fails the test with the command that installs it (tests/run.sh installs them).
/// </summary>
internal static class BrowserPrerequisites
{
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Debian's Firefox ESR, driven over WebDriver BiDi (tests/browser/firefox-bidi.mjs).</summary>
    public const string Firefox = "/usr/bin/firefox-esr";

    public const string Node = "node";

    /// <summary>The tests/browser directory, once everything is in place.</summary>
    public static string Require()
    {
        string browserDirectory = Repository.PathOf("tests", "browser");
        var missing = new List<string>();
        if (!OnPath(Node))
        {
            missing.Add("Node.js (`node`): apt-get install -y nodejs npm");
        }

        if (!File.Exists(Chromium))
        {
            missing.Add($"Debian's Chromium ({Chromium}): apt-get install -y chromium");
        }

        if (!File.Exists(Firefox))
        {
            missing.Add($"Debian's Firefox ({Firefox}): apt-get install -y firefox-esr");
        }

        if (!File.Exists(Path.Combine(browserDirectory, "node_modules", "playwright-core", "package.json"))
            || !File.Exists(Path.Combine(browserDirectory, "node_modules", "ws", "package.json")))
        {
            missing.Add($"playwright-core in {browserDirectory}/node_modules: npm ci --prefix tests/browser (never `npx playwright install`: the test uses {Chromium})");
        }

        if (missing.Count > 0)
        {
            Assert.Fail("The browser relay tests need what is missing here (tests/run.sh installs it):\n  " + string.Join("\n  ", missing));
        }

        return browserDirectory;
    }

    private static bool OnPath(string tool) => ToolRunner.Find(tool) is not null;
}
