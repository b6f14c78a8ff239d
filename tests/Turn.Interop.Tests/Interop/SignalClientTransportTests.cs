using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// signal.js's transport choice in 'auto' under Node with a scripted WebSocket
/// (tests/browser/transport-test.mjs): the fallback when WebSockets never open, and WebSockets
/// again after one has worked and a reconnect fails.
/// </summary>
public sealed class SignalClientTransportTests
{
    [Fact]
    public async Task Auto_FallsBackOnlyWhenNoWebSocketHasOpened()
    {
        string browserDirectory = Repository.PathOf("tests", "browser");
        Assert.True(ToolRunner.Find(BrowserPrerequisites.Node) is not null, "Node.js (`node`) is needed: apt-get install -y nodejs");

        ToolResult result = await ToolRunner.RunAsync(BrowserPrerequisites.Node, ["transport-test.mjs"], TimeSpan.FromSeconds(30), browserDirectory);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("{\"ok\":true", result.StandardOutput, StringComparison.Ordinal);
    }
}
