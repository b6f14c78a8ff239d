using System.Net.Sockets;
using System.Text.Json;
using Turn.Tests.Attack;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Interop;

/// <summary>
/// `turn serve` with no configuration at all, as a newcomer first runs it: in a network namespace
/// of the test's own (its built-in ports are fixed), with one interface besides loopback. The demo
/// page, opened in headless Chromium on that host, makes a relay-only call through it; the HTTP
/// side that hands out TURN credentials answers on loopback and not on the host's other address.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class FreshServeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ServeWithNoConfiguration_RelaysADemoCallBetweenTwoPages_AndServesHttpOnLoopbackOnly()
    {
        string browserDirectory = BrowserPrerequisites.Require();
        await using TestNamespace ns = await TestNamespace.CreateAsync();
        await using DaemonProcess daemon = await DaemonProcess.StartAsync(null, ["udp 0.0.0.0:3478", "tcp 0.0.0.0:3478"], launcher: ["ip", "netns", "exec", ns.Name]);
        Assert.Contains("Running the local default", daemon.StandardOutput, StringComparison.Ordinal);

        ToolResult local = await InNamespace(ns, "curl", "-fsS", "-m", "2", "--retry", "10", "--retry-connrefused", "--retry-delay", "1", "http://127.0.0.1:8080/healthz");
        Assert.True(local.ExitCode == 0, local + "\n" + daemon.Describe());

        // From the host's other address, inside and outside: nothing listens there.
        ToolResult inside = await InNamespace(ns, "curl", "-sS", "-m", "2", $"http://{ns.Inside}:8080/healthz");
        Assert.True(inside.ExitCode == 7, "curl should find the port closed: " + inside);
        using (var outside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            outside.Bind(new System.Net.IPEndPoint(ns.Outside, 0));
            SocketException refused = await Assert.ThrowsAsync<SocketException>(() => outside.ConnectAsync(ns.Inside, 8080));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }

        JsonElement result = await DemoPageRun.RunAsync(
            output,
            browserDirectory,
            ["--base", "http://127.0.0.1:8080", "--call-only", "--timeout-ms", "45000"],
            daemon.Describe,
            launcher: ["ip", "netns", "exec", ns.Name]);
        Assert.Contains("media relayed", result.GetProperty("steps").GetRawText(), StringComparison.Ordinal);
    }

    private static Task<ToolResult> InNamespace(TestNamespace ns, params string[] command)
        => ToolRunner.RunAsync("ip", ["netns", "exec", ns.Name, .. command], TimeSpan.FromSeconds(30));
}
