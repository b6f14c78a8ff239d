using System.Net;

namespace Turn.Tests.Interop;

/// <summary>
/// coturn's `turnserver` as a child process on one loopback port (UDP and TCP), in its own
/// temporary directory for the pid file and database, with no CLI, TLS or DTLS listener.
/// Ready once it answers a Binding request over UDP and accepts a TCP connection. Dispose kills
/// it by PID.
/// </summary>
internal sealed class CoturnProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;
    private readonly TempDirectory _directory;

    private CoturnProcess(ChildProcess process, TempDirectory directory, int port)
    {
        _process = process;
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
        var coturn = new CoturnProcess(ChildProcess.Start("coturn's turnserver", ToolRunner.Require("turnserver"), arguments, directory.Path), directory, port);
        try
        {
            var server = new IPEndPoint(IPAddress.Loopback, port);
            await coturn._process.WaitUntilAsync(
                async () => await StunPing.UdpAnswers(server, TimeSpan.FromMilliseconds(200)) && await StunPing.TcpAccepts(server),
                $"a Binding answer and a TCP accept on {server}",
                coturn.Describe);
            return coturn;
        }
        catch
        {
            await coturn.DisposeAsync();
            throw;
        }
    }

    public string Describe() => _process.Describe();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _directory.Dispose();
    }
}
