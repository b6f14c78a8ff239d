using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>The `turn` executable's commands run as a user would run them: check-config, serve's start-up failure, --version.</summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class TurnCliTests
{
    [Fact]
    public async Task CheckConfig_WithThreeProblems_PrintsEachNamingItsKey_AndExits2()
    {
        using var directory = new TempDirectory();
        string missingCertificate = directory.PathOf("no-such-cert.pem");
        string file = directory.Write("bad.json", JsonSerializer.Serialize(new
        {
            Listen = new { UdpPort = 70000, Transports = new[] { "udp", "sctp" } },
            Tls = new { CertificateFile = missingCertificate },
        }));

        ToolResult result = await ToolRunner.RunTurnAsync("check-config", file);

        Assert.True(result.ExitCode == 2, result.ToString());
        string[] lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("Listen:UdpPort: \"70000\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"Tls:CertificateFile: \"{missingCertificate}\"", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Listen:Transports:1: \"sctp\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CheckConfig_WithValidFile_Exits0()
    {
        using var directory = new TempDirectory();
        (string certificate, string key) = TestCertificate.WritePem(directory);
        string file = directory.Write("good.json", JsonSerializer.Serialize(new
        {
            Software = "turn",
            Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = 3478, TcpPort = 3478, TlsPort = 5349, Transports = new[] { "udp", "tcp", "tls" }, UdpThreads = 1 },
            Tls = new { CertificateFile = certificate, PrivateKeyFile = key },
            Rfc5780 = new { AlternateAddress = "127.0.0.2", AlternatePort = 3479 },
            Tcp = new { MaxConnections = 10000, IdleTimeoutSeconds = 300, HandshakeTimeoutSeconds = 10 },
            Auth = new { Secrets = new[] { "check-config-secret-0123456789" }, Users = new[] { "alice:pw" } },
            Logging = new { LogLevel = new { Default = "Information" } },
        }));

        ToolResult result = await ToolRunner.RunTurnAsync("check-config", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.StandardError);
        Assert.Contains("mode: serving: 1 shared secret(s) and 1 static user(s)", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_WithoutCredentials_NamesTheLocalDefault_AndServesHttpOnLoopback()
    {
        using var directory = new TempDirectory();
        string file = directory.Write("local.json", """{ "Http": { "Urls": [ "http://0.0.0.0:8080", "http://[::]:8081", "http://turn.example.org:8082" ] } }""");

        ToolResult result = await ToolRunner.RunTurnAsync("check-config", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("mode: local default, for development on this host (no Auth:Secrets or Auth:Users)", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("HTTP on http://localhost:8080, http://localhost:8081, http://localhost:8082", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("warning: Http:Urls: \"http://0.0.0.0:8080\" is served as \"http://localhost:8080\"", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WhenItsUdpPortIsTaken_ExitsNonZeroNamingTheAddress()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        using var directory = new TempDirectory();
        string file = directory.Write("turn.json", JsonSerializer.Serialize(new
        {
            Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = port, Transports = new[] { "udp" } },
        }));

        ToolResult result = await ToolRunner.RunAsync(ToolRunner.TurnCommand[0], [.. ToolRunner.TurnCommand[1..], "serve", "--config", file], TimeSpan.FromSeconds(15));

        Assert.False(result.TimedOut, "turn serve kept running on a taken port\n" + result);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"127.0.0.1:{port}", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_PrintsTheVersionNumber()
    {
        ToolResult result = await ToolRunner.RunTurnAsync("--version");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", result.StandardOutput.Trim());
    }
}
