namespace Turn.Tests.Interop;

/// <summary>What an external command did: its exit code (none when it was killed at the timeout) and its output.</summary>
internal sealed record ToolResult(string CommandLine, int? ExitCode, string StandardOutput, string StandardError, bool TimedOut)
{
    /// <summary>For assertion messages: the command, how it ended, and everything it printed.</summary>
    public override string ToString()
    {
        string ending = TimedOut ? "was killed at the timeout" : $"exited with {ExitCode}";
        return $"`{CommandLine}` {ending}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";
    }
}
