using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// coturn's turnutils_uclient relaying through the real `turn serve` to turnutils_peer echo peers
/// on loopback (RFC 8656): every transport, both data methods, both credential kinds, IPv6 and
/// dual relays and client-to-client. What is asserted is what uclient itself counted and printed.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class TurnUclientInteropTests(UclientRelayFixture server) : IClassFixture<UclientRelayFixture>
{
    /// <summary>uclient ends with exit(-1) when an Allocate never succeeds ("Cannot complete Allocation").</summary>
    private const int RefusedExitCode = 255;

    public static TheoryData<UclientMode> Modes => [.. Enum.GetValues<UclientMode>()];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Uclient_GetsEveryMessageBackThroughTheRelay_WithNoLoss(UclientMode mode)
    {
        UclientScenario scenario = server.Scenario(mode);

        ToolResult result = await server.Run(mode);

        string output = result.StandardOutput + result.StandardError;
        string context = $"{mode}: {result}\n{server.Describe()}";
        Assert.False(result.TimedOut, context);
        Assert.True(result.ExitCode == 0, context);
        Assert.True(UclientOutput.Totals(output) == (scenario.ExpectedMessages, scenario.ExpectedMessages), context);
        Assert.True(UclientOutput.LostPackets(output) == 0, context);
        // Round trips through a relay on loopback: reported, and well under a second.
        Assert.True(UclientOutput.AverageRoundTripMilliseconds(output) is >= 0 and < 1000, context);

        List<IPEndPoint> servers = UclientOutput.ServerAddresses(output);
        Assert.True(servers.Count > 0, context);
        Assert.All(servers, s => Assert.Equal(scenario.Server, s));

        // Each relayed address is ours: the relay address of its family, a port in the relay range.
        List<IPEndPoint> relays = UclientOutput.RelayAddresses(output);
        Assert.True(relays.Count > 0, context);
        foreach (IPEndPoint relay in relays)
        {
            Assert.True(relay.AddressFamily == AddressFamily.InterNetwork ? relay.Address.Equals(IPAddress.Loopback) : relay.Address.Equals(IPAddress.IPv6Loopback), context);
            Assert.InRange(relay.Port, server.RelayMinPort, server.RelayMaxPort);
        }

        Assert.Equal(scenario.RelayFamilies.Order(), relays.Select(r => r.AddressFamily).Distinct().Order());
        if (scenario.RelayFamilies.Count == 2)
        {
            // A dual allocation: every Allocate answered with one address of each family.
            Assert.True(relays.Count(r => r.AddressFamily == AddressFamily.InterNetwork) == relays.Count(r => r.AddressFamily == AddressFamily.InterNetworkV6), context);
        }
    }

    [Fact]
    public async Task RestCredentials_FromAnotherSecret_AreRefused()
    {
        await AssertRefused(["-W", "wrongsecret_0123456789"]);
    }

    [Fact]
    public async Task StaticUser_WithWrongPassword_IsRefused()
    {
        await AssertRefused(["-u", UclientRelayFixture.User, "-w", "wrong" + UclientRelayFixture.Password]);
    }

    [Fact]
    public async Task UnknownUser_IsRefused()
    {
        await AssertRefused(["-u", "mallory", "-w", UclientRelayFixture.Password]);
    }

    [Fact]
    public async Task StaticUser_WithWrongPassword_OverTls_IsRefused()
    {
        await AssertRefused(["-u", UclientRelayFixture.User, "-w", "wrong" + UclientRelayFixture.Password], ["-t", "-S"], server.TlsPort);
    }

    /// <summary>
    /// The server answers every Allocate (uclient retries each 401 challenge, up to 32 times), never
    /// hands out a relayed address, and uclient gives up before sending any data.
    /// </summary>
    private async Task AssertRefused(string[] credentials, string[]? flags = null, int? port = null)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, port ?? server.Port);
        string[] arguments = UclientRelayFixture.Arguments(credentials, flags ?? [], endpoint, server.Peer4);

        ToolResult result = await UclientRelayFixture.RunNow(arguments);

        string output = result.StandardOutput + result.StandardError;
        string context = $"{result}\n{server.Describe()}";
        Assert.False(result.TimedOut, context);
        Assert.True(result.ExitCode == RefusedExitCode, context);
        Assert.Contains("Cannot complete Allocation", output, StringComparison.Ordinal);
        Assert.True(UclientOutput.AllocateResponses(output) > 1, context);
        Assert.Empty(UclientOutput.RelayAddresses(output));
        Assert.Null(UclientOutput.Totals(output));
    }
}
