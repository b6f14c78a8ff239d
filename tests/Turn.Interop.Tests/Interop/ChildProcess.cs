using System.Diagnostics;
using System.Text;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// A server the tests start (turn, coturn's turnserver, turnutils_peer): its output collected,
/// a wait until it is ready that fails with everything it printed, and a stop that kills it by
/// PID and reaps it.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly StringBuilder _stdout;
    private readonly StringBuilder _stderr;

    private ChildProcess(string name, Process process, StringBuilder stdout, StringBuilder stderr)
    {
        Name = name;
        _process = process;
        _stdout = stdout;
        _stderr = stderr;
    }

    /// <summary>What assertion messages call it ("`turn serve`", "turnutils_peer 127.0.0.1:3480").</summary>
    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string StandardOutput => ToolRunner.Snapshot(_stdout);

    public string StandardError => ToolRunner.Snapshot(_stderr);

    public static ChildProcess Start(string name, string executable, IReadOnlyList<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        Process process = ToolRunner.Start(executable, arguments, workingDirectory, out StringBuilder stdout, out StringBuilder stderr, environment);
        return new ChildProcess(name, process, stdout, stderr);
    }

    /// <summary>
    /// Polls <paramref name="ready"/> until it says yes. When the process exits first, or
    /// <see cref="StartTimeout"/> passes, the test fails with <paramref name="waitingFor"/> and
    /// <paramref name="describe"/>.
    /// </summary>
    public async Task WaitUntilAsync(Func<Task<bool>> ready, string waitingFor, Func<string> describe)
    {
        var clock = Stopwatch.StartNew();
        while (!await ready())
        {
            if (_process.HasExited || clock.Elapsed > StartTimeout)
            {
                if (_process.HasExited)
                {
                    // The parameterless wait also drains the redirected streams, so the message shows why it ended.
                    await _process.WaitForExitAsync();
                }

                string state = _process.HasExited ? $"exited with {_process.ExitCode}" : $"is still not ready after {StartTimeout.TotalSeconds} s";
                Assert.Fail($"{Name} {state}; waiting for {waitingFor}\n{describe()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the process to exit on its own; false when it still runs after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Its output, headed by <see cref="Name"/>, for assertion messages.</summary>
    public string Describe()
        => $"--- {Name} stdout ---\n{StandardOutput}\n--- {Name} stderr ---\n{StandardError}";

    public async ValueTask DisposeAsync()
    {
        ToolRunner.Kill(_process);

        // Killed but perhaps not reaped in time; nothing more a test can do then.
        await WaitForExitAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }
}
