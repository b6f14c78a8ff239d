using Turn.Tests.Interop;
using Xunit;

namespace Turn.Tests.Deploy;

/// <summary>deploy/systemd/turn.service: systemd's own checker accepts it, and it says what the daemon relies on.</summary>
public sealed class SystemdUnitTests
{
    private static string UnitPath => Repository.PathOf("deploy", "systemd", "turn.service");

    [Fact]
    public async Task SystemdAnalyzeVerify_Passes()
    {
        // verify checks that ExecStart's program exists; point it at a stand-in where the daemon is not installed.
        using var directory = new TempDirectory();
        string turn = directory.Write("turn", "#!/bin/sh\nexit 0\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(turn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        string unit = directory.Write("turn.service", File.ReadAllText(UnitPath).Replace("/usr/local/bin/turn ", turn + " ", StringComparison.Ordinal));

        ToolResult result = await ToolRunner.RunAsync(ToolRunner.Require("systemd-analyze"), ["verify", unit]);
        Assert.True(result.ExitCode == 0 && result.StandardError.Trim().Length == 0, $"systemd-analyze verify found problems:\n{result}");
    }

    [Theory]
    [InlineData("Type=notify")]
    [InlineData("ExecStart=/usr/local/bin/turn serve --config /etc/turn/turn.json")]
    [InlineData("ExecReload=/bin/kill -HUP $MAINPID")]
    [InlineData("WatchdogSec=30s")]
    [InlineData("DynamicUser=yes")]
    [InlineData("AmbientCapabilities=CAP_NET_BIND_SERVICE")]
    [InlineData("NoNewPrivileges=yes")]
    [InlineData("ProtectSystem=strict")]
    [InlineData("PrivateTmp=yes")]
    [InlineData("LimitNOFILE=262144")]
    public void Unit_HasTheDirective(string directive)
        => Assert.Contains(directive, File.ReadAllLines(UnitPath).Select(l => l.Trim()));

    [Fact]
    public void Unit_LeavesTheJitAbleToWriteCode()
        => Assert.DoesNotContain(File.ReadAllLines(UnitPath), l => l.TrimStart().StartsWith("MemoryDenyWriteExecute=yes", StringComparison.Ordinal));

    [Fact]
    public void StopTimeout_LeavesRoomForTheShutdownDrain()
    {
        string line = File.ReadAllLines(UnitPath).Single(l => l.StartsWith("TimeoutStopSec=", StringComparison.Ordinal));
        int seconds = int.Parse(line["TimeoutStopSec=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(seconds > new Turn.Configuration.DrainOptions().ShutdownSeconds, line);
    }
}
