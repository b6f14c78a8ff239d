using System.Diagnostics;
using System.Text;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// Runs an external command with a deadline and captures its output. A missing tool fails the
/// test: the test command installs coturn and stun-client, so a skip would only hide a broken setup.
/// </summary>
internal static class ToolRunner
{
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(20);

    /// <summary>The `turn` daemon the test project builds next to itself.</summary>
    public static string TurnDll => Path.Combine(AppContext.BaseDirectory, "turn.dll");

    /// <summary>The dotnet host running the tests, so the daemon runs on the same runtime.</summary>
    public static string DotnetHost
    {
        get
        {
            string? self = Environment.ProcessPath;
            if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                return self;
            }

            return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Require("dotnet");
        }
    }

    /// <summary>
    /// The command that runs `turn`: `dotnet turn.dll`, or the executable named by TURN_TEST_EXE
    /// (e.g. the Native AOT build, so the interop layer can run against what is shipped).
    /// </summary>
    public static string[] TurnCommand
        => Environment.GetEnvironmentVariable("TURN_TEST_EXE") is { Length: > 0 } exe ? [exe] : [DotnetHost, TurnDll];

    /// <summary>`turn ARGS...`, run as <see cref="TurnCommand"/>.</summary>
    public static Task<ToolResult> RunTurnAsync(params string[] arguments)
        => RunAsync(TurnCommand[0], [.. TurnCommand[1..], .. arguments], DefaultTimeout);

    /// <summary>`turn ARGS...` with these variables set (and no other TURN_* variable).</summary>
    public static Task<ToolResult> RunTurnAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
        => RunAsync(TurnCommand[0], [.. TurnCommand[1..], .. arguments], DefaultTimeout, environment: environment);

    public static Task<ToolResult> RunAsync(string tool, IReadOnlyList<string> arguments)
        => RunAsync(tool, arguments, DefaultTimeout);

    public static async Task<ToolResult> RunAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using Process process = Start(Require(tool), arguments, workingDirectory, out StringBuilder stdout, out StringBuilder stderr, environment);
        string commandLine = tool + " " + string.Join(' ', arguments);
        using var deadline = new CancellationTokenSource(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            Kill(process);
        }

        // The parameterless wait also drains the redirected streams.
        await process.WaitForExitAsync(CancellationToken.None);
        return new ToolResult(commandLine, timedOut ? null : process.ExitCode, Snapshot(stdout), Snapshot(stderr), timedOut);
    }

    /// <summary>Starts a process with both streams captured line by line into the given builders.</summary>
    public static Process Start(string executable, IReadOnlyList<string> arguments, string? workingDirectory, out StringBuilder stdout, out StringBuilder stderr, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The daemon reads TURN_* variables over its file; none from the test's environment may leak in.
        // Nor may a service manager's: a test that wants systemd's variables sets its own.
        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("TURN_", StringComparison.OrdinalIgnoreCase) || k is "NOTIFY_SOCKET" or "WATCHDOG_USEC" or "WATCHDOG_PID" or "JOURNAL_STREAM").ToList())
        {
            info.Environment.Remove(name);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        StringBuilder outLines = new(), errLines = new();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(outLines, e.Data);
        process.ErrorDataReceived += (_, e) => Append(errLines, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        stdout = outLines;
        stderr = errLines;
        return process;
    }

    /// <summary>Kills the process and its children by the process's own id.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited between the check and the kill.
        }
    }

    public static string Snapshot(StringBuilder lines)
    {
        lock (lines)
        {
            return lines.ToString();
        }
    }

    /// <summary>The tool's full path from PATH (or the path itself); fails the test when it is not installed.</summary>
    public static string Require(string tool) => Find(tool) ?? Fail(tool);

    /// <summary>The tool's full path from PATH (or the path itself), or null when it is not installed.</summary>
    public static string? Find(string tool)
    {
        if (Path.IsPathRooted(tool))
        {
            return File.Exists(tool) ? tool : null;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, tool))
            .FirstOrDefault(File.Exists);
    }

    private static string Fail(string tool)
    {
        Assert.Fail($"`{tool}` is not installed or not on PATH. The interop tests need coturn (turnserver, turnutils_stunclient) and stun-client (stun): apt-get install -y coturn stun-client");
        return tool;
    }

    private static void Append(StringBuilder lines, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (lines)
        {
            lines.Append(line).Append('\n');
        }
    }
}
