using System.Net;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>`turn probe` (our client) against `turn serve` (our server) over each transport, as an operator would run them.</summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class ProbeAgainstTurnServeTests(TlsDaemonFixture server) : IClassFixture<TlsDaemonFixture>
{
    [Fact]
    public async Task ProbeOverUdp_PrintsItsOwnAddressAsMapped()
    {
        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stun:127.0.0.1:{server.UdpPort}", "--timeout", "5");

        AssertMappedToItself(result, server.UdpPort);
    }

    [Fact]
    public async Task ProbeOverTcp_PrintsItsOwnAddressAsMapped()
    {
        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stun:127.0.0.1:{server.TcpPort}?transport=tcp", "--timeout", "5");

        AssertMappedToItself(result, server.TcpPort);
    }

    [Fact]
    public async Task ProbeOverTls_TrustingTheSelfSignedCertificate_Succeeds()
    {
        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stuns:127.0.0.1:{server.TlsPort}", "--ca-file", server.CertificateFile, "--timeout", "5");

        AssertMappedToItself(result, server.TlsPort);
    }

    [Fact]
    public async Task ProbeOverTls_WithoutTrustingTheCertificate_FailsOnTheHandshake()
    {
        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stuns:127.0.0.1:{server.TlsPort}", "--timeout", "5");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Null(ToolOutput.ProbeField(result.StandardOutput, "mapped address"));
        Assert.Contains($"tls exchange with 127.0.0.1:{server.TlsPort} failed", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeOverTls_WithAnotherCaFile_FailsOnTheHandshake()
    {
        using var other = new TempDirectory();
        (string otherCertificate, _) = TestCertificate.WritePem(other);

        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stuns:127.0.0.1:{server.TlsPort}", "--ca-file", otherCertificate, "--timeout", "5");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Null(ToolOutput.ProbeField(result.StandardOutput, "mapped address"));
    }

    /// <summary>Exit 0, answered without SOFTWARE (an unauthenticated answer carries only what the RFC requires), and XOR-MAPPED-ADDRESS equal to the probe's own socket address.</summary>
    private void AssertMappedToItself(ToolResult result, int serverPort)
    {
        Assert.True(result.ExitCode == 0, result + "\n" + server.Daemon.Describe());
        Assert.Null(ToolOutput.ProbeField(result.StandardOutput, "software"));
        IPEndPoint mapped = IPEndPoint.Parse(ToolOutput.ProbeField(result.StandardOutput, "mapped address") ?? "(none)");
        Assert.Equal(IPAddress.Loopback, mapped.Address);
        Assert.NotEqual(serverPort, mapped.Port);
        Assert.Equal(ToolOutput.ProbeField(result.StandardOutput, "local address"), mapped.ToString());
    }
}
