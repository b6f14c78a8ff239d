using System.Net;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>The WebSocket upgrade: Origin allow list (ASP.NET Core would take any) and plain HTTP on the route.</summary>
public sealed class SignalOriginTests
{
    [Fact]
    public async Task Upgrade_FromAnotherOrigin_Returns403()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());

        Assert.Equal(HttpStatusCode.Forbidden, await SignalTestClient.UpgradeStatusAsync(server.Signal, "https://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, await SignalTestClient.UpgradeStatusAsync(server.Signal, "null"));
        Assert.Equal(HttpStatusCode.Forbidden, await SignalTestClient.UpgradeStatusAsync(server.Signal, "http://127.0.0.1:1"));
        Assert.Equal(0, server.Hub.PeerCount);
    }

    [Fact]
    public async Task Upgrade_FromTheSameHost_IsAccepted()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, server.SameOrigin));
        await using SignalTestClient ann = await server.ConnectAsync(origin: server.SameOrigin);
        await ann.JoinAsync("room");
    }

    [Fact]
    public async Task Upgrade_WithoutOrigin_IsAccepted()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, origin: null));
    }

    [Fact]
    public async Task Upgrade_WithAnAllowList_AcceptsListedOriginsOnly()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions
        {
            AllowedOrigins = ["https://app.example.org", "http://localhost:8080"],
        });

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, "https://app.example.org"));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, "http://localhost:8080"));
        Assert.Equal(HttpStatusCode.Forbidden, await SignalTestClient.UpgradeStatusAsync(server.Signal, "https://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, await SignalTestClient.UpgradeStatusAsync(server.Signal, "http://app.example.org"));
        Assert.Equal(HttpStatusCode.Forbidden, await SignalTestClient.UpgradeStatusAsync(server.Signal, "https://app.example.org.evil.example"));
        await using SignalTestClient ann = await server.ConnectAsync(origin: "https://app.example.org");
        await ann.JoinAsync("room");
    }

    [Fact]
    public async Task Upgrade_WithAnAllowList_StillAcceptsTheSameHostAndNoOrigin()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { AllowedOrigins = ["https://app.example.org"] });

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, server.SameOrigin));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, origin: null));
    }

    [Fact]
    public async Task Upgrade_WithAStarInTheAllowList_AcceptsAnyOrigin()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions { AllowedOrigins = ["*"] });

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await SignalTestClient.UpgradeStatusAsync(server.Signal, "https://anything.example"));
    }

    [Fact]
    public async Task PlainGet_OnTheSignalRoute_Returns426()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        using HttpClient http = server.HttpClient();

        using HttpResponseMessage response = await http.GetAsync(new Uri(server.Options.Path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }
}
