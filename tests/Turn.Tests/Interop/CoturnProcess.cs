using System.Diagnostics;
using System.Net;
using System.Text;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// coturn's `turnserver` as a child process on one loopback port (UDP and TCP), in its own
/// temporary directory for the pid file and database, with no CLI, TLS or DTLS listener.
/// Ready once it answers a Binding request over UDP and accepts a TCP connection. Dispose kills
/// it by PID.
/// </summary>
internal sealed class CoturnProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout;
    private readonly StringBuilder _stderr;
    private readonly TempDirectory _directory;

    private CoturnProcess(Process process, StringBuilder stdout, StringBuilder stderr, TempDirectory directory, int port)
    {
        _process = process;
        _stdout = stdout;
        _stderr = stderr;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public static async Task<CoturnProcess> StartAsync(int port)
    {
        var directory = new TempDirectory();
        string[] arguments =
        [
            "-n",
            "--listening-ip", "127.0.0.1",
            "--relay-ip", "127.0.0.1",
            "--listening-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--no-tls", "--no-dtls", "--no-cli",
            "--log-file", "stdout", "--simple-log",
            "--pidfile", directory.PathOf("turnserver.pid"),
            "--db", directory.PathOf("turndb"),
        ];
        Process process = ToolRunner.Start(ToolRunner.Require("turnserver"), arguments, directory.Path, out StringBuilder stdout, out StringBuilder stderr);
        var coturn = new CoturnProcess(process, stdout, stderr, directory, port);
        try
        {
            await coturn.WaitUntilReady();
            return coturn;
        }
        catch
        {
            await coturn.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilReady()
    {
        var server = new IPEndPoint(IPAddress.Loopback, Port);
        var clock = Stopwatch.StartNew();
        while (!(await StunPing.UdpAnswers(server, TimeSpan.FromMilliseconds(200)) && await StunPing.TcpAccepts(server)))
        {
            if (_process.HasExited || clock.Elapsed > DaemonProcess.StartTimeout)
            {
                string state = _process.HasExited ? $"exited with {_process.ExitCode}" : $"does not answer on 127.0.0.1:{Port} after {DaemonProcess.StartTimeout.TotalSeconds} s";
                Assert.Fail($"coturn's turnserver {state}\n{Describe()}");
            }

            await Task.Delay(50);
        }
    }

    public string Describe()
        => $"--- turnserver stdout ---\n{ToolRunner.Snapshot(_stdout)}\n--- turnserver stderr ---\n{ToolRunner.Snapshot(_stderr)}";

    public async ValueTask DisposeAsync()
    {
        ToolRunner.Kill(_process);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            // Killed but not reaped in time; nothing more a test can do.
        }

        _process.Dispose();
        _directory.Dispose();
    }
}
