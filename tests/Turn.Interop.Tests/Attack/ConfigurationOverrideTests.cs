using System.Net;
using Turn.Tests.Interop;
using Turn.Tests.Server;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// Environment variables over a configuration file, as a container or the Helm chart passes them:
/// a list in the environment replaces the file's list whole, in the running daemon (where it
/// listens, who may allocate) and in what `turn check-config --show` reports, secrets masked.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class ConfigurationOverrideTests
{
    [Fact]
    public async Task ListsInTheEnvironment_ReplaceTheFilesLists_InTheRunningDaemon()
    {
        int port = LoopbackPorts.Take(1, IPAddress.Loopback, IPAddress.Parse("127.0.0.2"))[0];
        var environment = new Dictionary<string, string>
        {
            ["TURN_Listen__Addresses"] = "127.0.0.2",
            ["TURN_Auth__Users"] = "carol:carol-password",
        };
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            config =>
            {
                config["Listen"]!["UdpPort"] = port;
                config["Listen"]!["TcpPort"] = port;
            },
            environment: environment,
            listening: [$"udp 127.0.0.2:{port}", $"tcp 127.0.0.2:{port}"]);

        // The file's 127.0.0.1 and ::1 are not listened on.
        Assert.DoesNotContain($"Listening on udp 127.0.0.1:{port}", daemon.Process.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Listening on udp [::1]", daemon.Process.StandardOutput, StringComparison.Ordinal);

        // The file's users are gone, the environment's user allocates.
        var server = new IPEndPoint(IPAddress.Parse("127.0.0.2"), port);
        await using TurnTestClient alice = TurnTestClient.Udp(server, AttackDaemon.Alice);
        TurnReply refused = await alice.RequestAsync(global::Turn.Wire.StunMethod.Allocate, TurnMessages.RequestedTransportUdp);
        Assert.Equal(401, refused.ErrorCode);
        await using TurnTestClient carol = TurnTestClient.Udp(server, new TurnCredentials("carol", "carol-password"));
        Assert.Single(await carol.AllocateAsync());
    }

    [Fact]
    public async Task CheckConfigShow_NamesEachValuesSource_AndMasksSecrets()
    {
        using var directory = new TempDirectory();
        string file = directory.Write("turn.json", """
            {
              "Listen": { "Addresses": [ "127.0.0.1", "::1" ] },
              "Auth": { "Users": [ "alice:file-password-1" ], "Secrets": [ "file-secret-0123456789" ] },
              "Relay": { "AllowedPeers": [ "10.1.0.0/16" ] }
            }
            """);
        var environment = new Dictionary<string, string>
        {
            ["TURN_Auth__Users"] = "carol:env-password-2",
            ["TURN_Relay__AllowedPeers"] = "",
            ["TURN_Admin__ApiKey"] = "env-admin-key-0123456789",
        };

        ToolResult result = await ToolRunner.RunTurnAsync(environment, "check-config", file, "--show");

        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.StandardOutput.Split('\n');
        Assert.Matches(@"^Listen:Addresses +=.*\[127\.0\.0\.1, ::1\] +\(file .*turn\.json\)", Line(lines, "Listen:Addresses"));
        Assert.Matches(@"^Auth:Users +=.*\[carol:\*+\] +\(environment TURN_Auth__Users\)", Line(lines, "Auth:Users"));
        Assert.Matches(@"^Auth:Secrets +=.*\[\*+\] +\(file ", Line(lines, "Auth:Secrets"));
        Assert.Matches(@"^Relay:AllowedPeers +=.*\[\] +\(environment TURN_Relay__AllowedPeers\)", Line(lines, "Relay:AllowedPeers"));
        Assert.Matches(@"^Admin:ApiKey +=.*\*+ +\(environment TURN_Admin__ApiKey\)", Line(lines, "Admin:ApiKey"));
        Assert.Matches(@"^Relay:MinPort +=.*49152 +\(default\)", Line(lines, "Relay:MinPort"));
        foreach (string secret in new[] { "file-password-1", "env-password-2", "file-secret-0123456789", "env-admin-key-0123456789" })
        {
            Assert.DoesNotContain(secret, result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CheckConfig_WarnsWhenLoopbackOrLinkLocalBecomeReachable()
    {
        using var directory = new TempDirectory();
        string file = directory.Write("turn.json", """
            { "Relay": { "RemoveBuiltInDeniedPeers": [ "127.0.0.0/8" ], "AllowedPeers": [ "169.254.0.0/16" ] } }
            """);

        ToolResult result = await ToolRunner.RunTurnAsync("check-config", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("warning: Relay:RemoveBuiltInDeniedPeers takes 127.0.0.0/8 off the deny list", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("warning: Relay:AllowedPeers:0 (169.254.0.0/16) lets allocations reach 169.254.0.0/16", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_RefusesARemovalThatIsNotABuiltInEntry()
    {
        using var directory = new TempDirectory();
        string file = directory.Write("turn.json", """{ "Relay": { "RemoveBuiltInDeniedPeers": [ "127.0.0.0/16" ] } }""");

        ToolResult result = await ToolRunner.RunTurnAsync("check-config", file);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Relay:RemoveBuiltInDeniedPeers:0: \"127.0.0.0/16\" is not an entry of the built-in deny list", result.StandardError, StringComparison.Ordinal);
    }

    private static string Line(string[] lines, string key)
        => lines.FirstOrDefault(l => l.StartsWith(key + " ", StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"no line for {key}");
}
