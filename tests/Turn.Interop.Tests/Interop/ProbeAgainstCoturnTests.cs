using System.Net;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>`turn probe` (our client) against coturn's turnserver (their server).</summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class ProbeAgainstCoturnTests
{
    [Fact]
    public async Task ProbeOverUdp_GetsMappedAddressFromCoturn()
    {
        await using CoturnProcess coturn = await CoturnProcess.StartAsync(LoopbackPorts.TakeOne());

        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stun:127.0.0.1:{coturn.Port}", "--timeout", "5");

        AssertAnsweredByCoturn(result, coturn);
    }

    [Fact]
    public async Task ProbeOverTcp_GetsMappedAddressFromCoturn()
    {
        await using CoturnProcess coturn = await CoturnProcess.StartAsync(LoopbackPorts.TakeOne());

        ToolResult result = await ToolRunner.RunTurnAsync("probe", $"stun:127.0.0.1:{coturn.Port}?transport=tcp", "--timeout", "5");

        AssertAnsweredByCoturn(result, coturn);
    }

    private static void AssertAnsweredByCoturn(ToolResult result, CoturnProcess coturn)
    {
        Assert.True(result.ExitCode == 0, result + "\n" + coturn.Describe());
        Assert.StartsWith("Coturn", ToolOutput.ProbeField(result.StandardOutput, "software"), StringComparison.Ordinal);
        IPEndPoint mapped = IPEndPoint.Parse(ToolOutput.ProbeField(result.StandardOutput, "mapped address") ?? "(none)");
        Assert.Equal(IPAddress.Loopback, mapped.Address);
        Assert.Equal(ToolOutput.ProbeField(result.StandardOutput, "local address"), mapped.ToString());
    }
}
