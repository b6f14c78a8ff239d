using System.Globalization;
using System.Net;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// Independent STUN clients against the real `turn serve` on loopback: coturn's
/// turnutils_stunclient (RFC 5389/5780) and stun-client's `stun` (RFC 3489).
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class StunClientInteropTests
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task TurnutilsStunclient_GetsLoopbackReflexiveAddress_FromTurnServe()
    {
        int port = LoopbackPorts.TakeOne();
        await using DaemonProcess daemon = await StartPlain(port);

        ToolResult result = await ToolRunner.RunAsync("turnutils_stunclient", ["-p", Text(port), "127.0.0.1"], ClientTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        List<IPEndPoint> reflexive = ToolOutput.ReflexiveAddresses(result.StandardOutput);
        Assert.True(reflexive.Count > 0, result.ToString());
        (int first, int last) = ToolOutput.EphemeralPortRange();
        foreach (IPEndPoint address in reflexive)
        {
            // The client binds no port, so the kernel picked one from its ephemeral range.
            Assert.Equal(IPAddress.Loopback, address.Address);
            Assert.InRange(address.Port, first, last);
            Assert.NotEqual(port, address.Port);
        }

        Assert.Single(reflexive.Distinct());
        Assert.DoesNotContain("Other addr", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StunClient_GetsMappedAddressOfItsSourcePort_AndReportsOpen_FromTurnServe()
    {
        int port = LoopbackPorts.TakeOne();
        int source = LoopbackPorts.TakePair();
        await using DaemonProcess daemon = await StartPlain(port);

        ToolResult result = await ToolRunner.RunAsync("stun", [$"127.0.0.1:{port}", "-v", "-p", Text(source)], ClientTimeout);

        List<IPEndPoint> mapped = ToolOutput.StunMappedAddresses(result.StandardOutput + result.StandardError);
        Assert.True(mapped.Count > 0, result.ToString());
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, source), mapped[0]);
        Assert.All(mapped, m => Assert.Equal(new IPEndPoint(IPAddress.Loopback, source), m));
        AssertStunReportsOpen(result);
    }

    [Fact]
    public async Task TurnutilsStunclient_InRfc5780Mode_SeesTheAlternateAddressAndChangedOrigins()
    {
        (int port, int alternatePort) = TakeGridPorts();
        await using DaemonProcess daemon = await StartGrid(port, alternatePort);

        ToolResult result = await ToolRunner.RunAsync("turnutils_stunclient", ["-f", "-p", Text(port), "127.0.0.1"], ClientTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        List<string> responses = ToolOutput.Rfc5780Responses(result.StandardOutput);
        Assert.True(responses.Count == 3, result.ToString());
        var primary = new IPEndPoint(LoopbackPorts.Primary, port);
        var alternate = new IPEndPoint(LoopbackPorts.Alternate, alternatePort);

        // 1: a plain Binding request to the primary address.
        Assert.Equal([primary], ToolOutput.ResponseOrigins(responses[0]).Distinct());
        Assert.Equal([alternate], ToolOutput.OtherAddresses(responses[0]));
        IPEndPoint mapped = Assert.Single(ToolOutput.ReflexiveAddresses(responses[0]).Distinct());
        Assert.Equal(IPAddress.Loopback, mapped.Address);

        // 2: CHANGE-REQUEST (IP and port) with RESPONSE-PORT = mapped port + 1: the answer comes from
        // the alternate address, reaches the client's second socket and still maps the first one.
        Assert.Equal([alternate], ToolOutput.ResponseOrigins(responses[1]));
        Assert.Equal([mapped], ToolOutput.ReflexiveAddresses(responses[1]));

        // 3: CHANGE-REQUEST with PADDING, sent from that second socket, which the client bound to mapped port + 1.
        Assert.Equal([alternate], ToolOutput.ResponseOrigins(responses[2]));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, mapped.Port + 1)], ToolOutput.ReflexiveAddresses(responses[2]));
    }

    [Fact]
    public async Task StunClient_AgainstRfc5780Grid_GetsAnswersFromChangedAddressAndPort()
    {
        (int port, int alternatePort) = TakeGridPorts();
        int source = LoopbackPorts.TakePair();
        await using DaemonProcess daemon = await StartGrid(port, alternatePort);

        ToolResult result = await ToolRunner.RunAsync("stun", [$"127.0.0.1:{port}", "-v", "-p", Text(source)], ClientTimeout);

        string output = result.StandardOutput + result.StandardError;
        List<IPEndPoint> mapped = ToolOutput.StunMappedAddresses(output);
        Assert.True(mapped.Count > 0, result.ToString());
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, source), mapped[0]);
        Assert.All(mapped, m => Assert.Contains(m.Port, new[] { source, source + 1 }));

        // RFC 3489 test I names the alternate address; tests II and III (change IP, change port) are answered from it.
        Assert.Equal(new IPEndPoint(LoopbackPorts.Alternate, alternatePort), ToolOutput.StunChangedAddresses(output)[0]);
        List<IPEndPoint> sources = ToolOutput.StunSourceAddresses(output);
        Assert.Equal(new IPEndPoint(LoopbackPorts.Primary, port), sources[0]);
        Assert.Contains(new IPEndPoint(LoopbackPorts.Alternate, port), sources);
        Assert.Contains(new IPEndPoint(LoopbackPorts.Primary, alternatePort), sources);
        AssertStunReportsOpen(result);
    }

    /// <summary>
    /// stun-client classifies the path and exits with the value it prints; on loopback it sees no
    /// NAT ("Open"), and 0x000001 is what it prints for coturn's turnserver on this host too.
    /// </summary>
    private static void AssertStunReportsOpen(ToolResult result)
    {
        string output = result.StandardOutput + result.StandardError;
        Assert.False(result.TimedOut, result.ToString());
        Assert.Contains("Primary: Open", output, StringComparison.Ordinal);
        Assert.True(ToolOutput.StunReturnValue(output) == 1, result.ToString());
        Assert.True(result.ExitCode == 1, result.ToString());
    }

    private static Task<DaemonProcess> StartPlain(int port)
        => DaemonProcess.StartAsync(
            new { Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = port, Transports = new[] { "udp" } } },
            [$"udp 127.0.0.1:{port}"]);

    /// <summary>127.0.0.1 primary and 127.0.0.2 alternate, each on both ports: the RFC 5780 grid.</summary>
    private static Task<DaemonProcess> StartGrid(int port, int alternatePort)
        => DaemonProcess.StartAsync(
            new
            {
                Listen = new { Addresses = new[] { "127.0.0.1" }, UdpPort = port, Transports = new[] { "udp" } },
                Rfc5780 = new { AlternateAddress = "127.0.0.2", AlternatePort = alternatePort },
            },
            DaemonProcess.Endpoints("udp", ["127.0.0.1", "127.0.0.2"], port, alternatePort));

    private static (int Port, int AlternatePort) TakeGridPorts()
    {
        int[] ports = LoopbackPorts.Take(2, LoopbackPorts.Primary, LoopbackPorts.Alternate);
        return (ports[0], ports[1]);
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
