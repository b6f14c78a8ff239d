using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// The real `turn serve` as a child process: its configuration in a temporary file, started with
/// `dotnet turn.dll serve --config FILE`, ready once it has logged every expected "Listening on"
/// line. Dispose kills its process tree by PID and removes the temporary directory.
/// </summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDirectory _directory;

    private DaemonProcess(ChildProcess process, TempDirectory directory, string configFile)
    {
        _process = process;
        _directory = directory;
        ConfigFile = configFile;
    }

    /// <summary>The configuration file; empty when the daemon runs on its built-in defaults.</summary>
    public string ConfigFile { get; }

    public int ProcessId => _process.Id;

    public string StandardOutput => _process.StandardOutput;

    public string StandardError => _process.StandardError;

    /// <summary>
    /// Writes <paramref name="config"/> as JSON, starts the daemon and waits for each of
    /// <paramref name="listening"/> ("udp 127.0.0.1:3478"). A given <paramref name="directory"/>
    /// (holding certificates, say) belongs to the daemon from then on and goes with it.
    /// </summary>
    /// <param name="launcher">A command the daemon runs under, e.g. `ip netns exec NAME`; it must exec the daemon, so the PID is the daemon's.</param>
    /// <param name="config">Null: no --config at all, the built-in defaults (with their fixed ports: only in a namespace of the test's own).</param>
    public static async Task<DaemonProcess> StartAsync(object? config, IEnumerable<string> listening, TempDirectory? directory = null, IReadOnlyDictionary<string, string>? environment = null, IReadOnlyList<string>? launcher = null)
    {
        TempDirectory owned = directory ?? new TempDirectory();
        string configFile = "";
        string[] configArguments = [];
        if (config is not null)
        {
            // The HTTP side (signaling, metrics) listens on a fixed port by default; tests that do not
            // configure it leave it off, so that daemons of several tests never collide on it.
            JsonNode node = JsonSerializer.SerializeToNode(config)!;
            node["Http"] ??= JsonNode.Parse("""{ "Urls": [] }""");
            configFile = owned.Write("turn.json", node.ToJsonString());
            configArguments = ["--config", configFile];
        }

        string[] command = [.. launcher ?? [], .. ToolRunner.TurnCommand, "serve", .. configArguments];
        ChildProcess process = ChildProcess.Start("`turn serve`", command[0], command[1..], owned.Path, environment);
        var daemon = new DaemonProcess(process, owned, configFile);
        try
        {
            await daemon.WaitUntilListening([.. listening.Select(l => "Listening on " + l)]);
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Sends a signal by name ("HUP", "USR1", "TERM") to the daemon's process.</summary>
    public async Task SignalAsync(string signal)
    {
        ToolResult result = await ToolRunner.RunAsync("kill", ["-s", signal, ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(result.ExitCode == 0, $"kill -s {signal} failed: {result}");
    }

    /// <summary>Waits for the daemon to exit on its own; false when it is still running after <paramref name="timeout"/>.</summary>
    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>"udp 127.0.0.1:3478" and the like, for each protocol on each port of each address.</summary>
    public static IEnumerable<string> Endpoints(string protocol, IEnumerable<string> addresses, params int[] ports)
        => addresses.SelectMany(a => ports.Select(p => $"{protocol} {a}:{p}"));

    private Task WaitUntilListening(string[] expected)
        => _process.WaitUntilAsync(
            () => Task.FromResult(Missing(expected).Length == 0),
            "every listener",
            () => $"missing: {string.Join(", ", Missing(expected))}\n{Describe()}");

    private string[] Missing(string[] expected)
    {
        string output = StandardOutput;
        return [.. expected.Where(e => !HasLine(output, e))];
    }

    /// <summary>A log line ends with the text: "Listening on udp 127.0.0.1:3478" must not match "...:34780".</summary>
    private static bool HasLine(string output, string ending)
    {
        foreach (string line in output.Split('\n'))
        {
            if (line.TrimEnd().EndsWith(ending, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>For assertion messages: the configuration and all the daemon printed so far.</summary>
    public string Describe()
        => (ConfigFile.Length == 0 ? "--- no config file ---" : $"--- config {ConfigFile} ---\n{File.ReadAllText(ConfigFile)}")
            + $"\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}";

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _directory.Dispose();
    }
}
