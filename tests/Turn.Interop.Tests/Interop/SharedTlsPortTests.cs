using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// TURN over TLS and HTTPS on one port (Listen:TlsPort equal to the port of an https Http:Urls
/// entry): `turn probe stuns:`, turnutils_uclient over TLS and an HTTPS client all reach the daemon
/// on that port, a reloaded certificate reaches both, and a relay-only demo call in Chromium whose
/// page, WebSocket and turns: server are all on that port goes through over TLS.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class SharedTlsPortTests(ITestOutputHelper output)
{
    private const string Secret = "shared-port-secret-0123456789";

    [Fact]
    public async Task TurnOverTlsAndHttps_OnOnePort_BothAnswer_AndAReloadedCertificateReachesBoth()
    {
        var directory = new TempDirectory();
        (string firstCertificate, string firstKey) = TestCertificate.WritePem(directory);
        using var next = new TempDirectory();
        (string secondCertificate, string secondKey) = TestCertificate.WritePem(next);
        (int stunPort, int sharedPort) = Ports();
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(Config(stunPort, sharedPort, firstCertificate, firstKey), [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"], directory);
        string target = $"stuns:127.0.0.1:{sharedPort}";

        ToolResult probe = await RetryProbe(target, firstCertificate);
        Assert.True(probe.ExitCode == 0, probe + "\n" + daemon.Describe());
        Assert.Contains($"TURN over TLS shares port {sharedPort} with HTTPS", daemon.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(OperationsTests.Thumbprint(firstCertificate), await OperationsTests.HttpsThumbprint(sharedPort));

        await using (PeerProcess peer = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, LoopbackPorts.TakeOne())))
        {
            ToolResult relayed = await ToolRunner.RunAsync(
                "turnutils_uclient",
                ["-t", "-S", "-u", "shared", "-w", "sharedpw", "-e", "127.0.0.1", "-r", peer.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-p", sharedPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "2", "-n", "50", "-l", "200", "-c", "127.0.0.1"],
                TimeSpan.FromSeconds(60));
            output.WriteLine(relayed.ToString());
            Assert.True(relayed.ExitCode == 0, relayed + "\n" + daemon.Describe());
            Assert.Equal(0, UclientOutput.LostPackets(relayed.StandardOutput));
            Assert.Equal((100L, 100L), UclientOutput.Totals(relayed.StandardOutput));
        }

        // Signaling on the same port: the WebSocket upgrade, after TLS and the port's router, is taken at
        // the connection before HTTP (Kestrel's own 101 would carry a Date header).
        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            socket.Options.CollectHttpResponseDetails = true;
            socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == OperationsTests.Thumbprint(firstCertificate);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(new Uri($"wss://127.0.0.1:{sharedPort}/signal"), timeout.Token);
            Assert.Equal(HttpStatusCode.SwitchingProtocols, socket.HttpStatusCode);
            Assert.False(socket.HttpResponseHeaders!.ContainsKey("Date"), "the upgrade went through Kestrel's HTTP layer");
            await socket.SendAsync("""{"type":"ping","id":"tls"}"""u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
            byte[] answer = new byte[256];
            System.Net.WebSockets.WebSocketReceiveResult received = await socket.ReceiveAsync(answer, timeout.Token);
            Assert.Contains("\"pong\"", System.Text.Encoding.UTF8.GetString(answer, 0, received.Count), StringComparison.Ordinal);
        }

        JsonNode config = JsonNode.Parse(await File.ReadAllTextAsync(daemon.ConfigFile))!;
        config["Tls"] = new JsonObject { ["CertificateFile"] = secondCertificate, ["PrivateKeyFile"] = secondKey };
        await File.WriteAllTextAsync(daemon.ConfigFile, config.ToJsonString());
        await daemon.SignalAsync("HUP");
        for (int i = 0; i < 100 && !daemon.StandardOutput.Contains("Configuration reloaded", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        ToolResult withNew = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", secondCertificate, "--timeout", "5");
        Assert.True(withNew.ExitCode == 0, withNew + "\n" + daemon.Describe());
        Assert.Equal(OperationsTests.Thumbprint(secondCertificate), await OperationsTests.HttpsThumbprint(sharedPort));
    }

    [Fact]
    public async Task DemoPageOverHttps_CallsRelayOnlyThroughTurnsOnTheSamePort()
    {
        string browserDirectory = BrowserPrerequisites.Require();
        var directory = new TempDirectory();
        (string certificate, string key) = TestCertificate.WritePem(directory);
        (int stunPort, int sharedPort) = Ports();
        JsonObject config = Config(stunPort, sharedPort, certificate, key);
        config["Ice"] = new JsonObject { ["Urls"] = new JsonArray($"stun:127.0.0.1:{stunPort}", $"turns:127.0.0.1:{sharedPort}?transport=tcp") };
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"], directory);
        ToolResult probe = await RetryProbe($"stuns:127.0.0.1:{sharedPort}", certificate);
        Assert.True(probe.ExitCode == 0, probe + "\n" + daemon.Describe());

        JsonElement result = await DemoPageRun.RunAsync(
            output,
            browserDirectory,
            ["--base", $"https://127.0.0.1:{sharedPort}", "--call-only", "--ignore-certificate-errors", "--timeout-ms", "45000"],
            daemon.Describe,
            environment: new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = certificate });
        foreach (string side in new[] { "alice", "bob" })
        {
            Assert.Equal("tls", result.GetProperty("pairs").GetProperty(side).GetProperty("relayProtocol").GetString());
        }
    }

    [Fact]
    public async Task SharedPort_NegotiatesStunTurnByAlpn_ServesHttp2_AndHoldsTheSeatsPerAddress()
    {
        var directory = new TempDirectory();
        (string certificate, string key) = TestCertificate.WritePem(directory);
        (int stunPort, int sharedPort) = Ports();
        JsonObject config = Config(stunPort, sharedPort, certificate, key);
        config["Tcp"] = new JsonObject { ["MaxConnectionsPerAddress"] = 1 };
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(config, [$"udp 127.0.0.1:{stunPort}", $"tcp 127.0.0.1:{stunPort}"], directory);
        ToolResult probe = await RetryProbe($"stuns:127.0.0.1:{sharedPort}", certificate);
        Assert.True(probe.ExitCode == 0, probe + "\n" + daemon.Describe());

        // RFC 7443's ALPN token is offered and taken: the connection is TURN before it sends a byte.
        using TcpClient first = new();
        await first.ConnectAsync(IPAddress.Loopback, sharedPort);
        string thumbprint = OperationsTests.Thumbprint(certificate);
        await using SslStream turn = await Tls(first, "stun.turn", thumbprint);
        Assert.Equal("stun.turn", turn.NegotiatedApplicationProtocol.ToString());
        Assert.True(await Binding(turn), "a Binding request over ALPN stun.turn gets its answer\n" + daemon.Describe());

        // The one seat of 127.0.0.1 is taken: a second TURN connection is refused, HTTP is not (its own limits).
        using TcpClient second = new();
        await second.ConnectAsync(IPAddress.Loopback, sharedPort);
        await using SslStream refused = await Tls(second, "stun.turn", thumbprint);
        Assert.False(await Binding(refused), "a connection past the address's seats must get no answer\n" + daemon.Describe());

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == thumbprint };
        using var http = new HttpClient(handler) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage health = await http.GetAsync(new Uri($"https://127.0.0.1:{sharedPort}/healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpVersion.Version20, health.Version);
    }

    /// <summary>TLS to the daemon, trusting only its test certificate, offering one ALPN protocol.</summary>
    private static async Task<SslStream> Tls(TcpClient client, string protocol, string thumbprint)
    {
        var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented is System.Security.Cryptography.X509Certificates.X509Certificate2 c && c.Thumbprint == thumbprint);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [new SslApplicationProtocol(protocol)],
        });
        return ssl;
    }

    /// <summary>Sends a STUN Binding request and waits up to 3 s for a success response.</summary>
    private static async Task<bool> Binding(SslStream stream)
    {
        byte[] request = new byte[20];
        request[1] = 0x01;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(4), 0x2112A442);
        System.Security.Cryptography.RandomNumberGenerator.Fill(request.AsSpan(8));
        byte[] answer = new byte[20];
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await stream.WriteAsync(request, timeout.Token);
            await stream.ReadExactlyAsync(answer, timeout.Token);
            return answer[0] == 0x01 && answer[1] == 0x01 && answer.AsSpan(8).SequenceEqual(request.AsSpan(8));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException)
        {
            return false;
        }
    }

    private static (int Stun, int Shared) Ports()
    {
        int[] ports = LoopbackPorts.Take(2);
        return (ports[0], ports[1]);
    }

    private static JsonObject Config(int stunPort, int sharedPort, string certificate, string key)
    {
        int relayMin = 61000 + (Random.Shared.Next(0, 22) * 200);
        return new JsonObject
        {
            ["Listen"] = new JsonObject
            {
                ["Addresses"] = new JsonArray("127.0.0.1"),
                ["UdpPort"] = stunPort,
                ["TcpPort"] = stunPort,
                ["TlsPort"] = sharedPort,
                ["Transports"] = new JsonArray("udp", "tcp", "tls"),
            },
            ["Tls"] = new JsonObject { ["CertificateFile"] = certificate, ["PrivateKeyFile"] = key },
            ["Http"] = new JsonObject { ["Urls"] = new JsonArray($"https://127.0.0.1:{sharedPort}") },
            ["Auth"] = new JsonObject { ["Realm"] = "shared", ["Secrets"] = new JsonArray(Secret), ["Users"] = new JsonArray("shared:sharedpw") },
            ["Relay"] = new JsonObject { ["Addresses"] = new JsonArray("127.0.0.1"), ["UnsafeAllowLoopbackPeers"] = true, ["MinPort"] = relayMin, ["MaxPort"] = relayMin + 199 },
        };
    }

    /// <summary>The HTTPS listener comes up a moment after the STUN ones: probe until it answers.</summary>
    private static async Task<ToolResult> RetryProbe(string target, string certificate)
    {
        ToolResult probe = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", certificate, "--timeout", "2");
        for (int i = 0; i < 20 && probe.ExitCode != 0; i++)
        {
            await Task.Delay(250);
            probe = await ToolRunner.RunTurnAsync("probe", target, "--ca-file", certificate, "--timeout", "2");
        }

        return probe;
    }
}
