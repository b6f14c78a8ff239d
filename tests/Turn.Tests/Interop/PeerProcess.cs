using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// coturn's `turnutils_peer` as a child process: the far-end UDP echo peer that turnutils_uclient
/// sends to through a relay. Ready once it echoes a datagram; Dispose kills it by PID.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout;
    private readonly StringBuilder _stderr;

    private PeerProcess(Process process, StringBuilder stdout, StringBuilder stderr, IPEndPoint endpoint)
    {
        _process = process;
        _stdout = stdout;
        _stderr = stderr;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<PeerProcess> StartAsync(IPEndPoint endpoint)
    {
        string[] arguments = ["-L", endpoint.Address.ToString(), "-p", endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        Process process = ToolRunner.Start(ToolRunner.Require("turnutils_peer"), arguments, null, out StringBuilder stdout, out StringBuilder stderr);
        var peer = new PeerProcess(process, stdout, stderr, endpoint);
        try
        {
            await peer.WaitUntilEchoing();
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilEchoing()
    {
        var clock = Stopwatch.StartNew();
        while (!await Echoes(Endpoint, TimeSpan.FromMilliseconds(200)))
        {
            if (_process.HasExited || clock.Elapsed > DaemonProcess.StartTimeout)
            {
                string state = _process.HasExited ? $"exited with {_process.ExitCode}" : $"does not echo on {Endpoint} after {DaemonProcess.StartTimeout.TotalSeconds} s";
                Assert.Fail($"turnutils_peer {state}\n{Describe()}");
            }
        }
    }

    private static async Task<bool> Echoes(IPEndPoint endpoint, TimeSpan timeout)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        byte[] probe = Encoding.ASCII.GetBytes("turn interop echo probe");
        byte[] buffer = new byte[256];
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await socket.SendToAsync(probe, endpoint, deadline.Token);
            EndPoint any = new IPEndPoint(endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            SocketReceiveFromResult received = await socket.ReceiveFromAsync(buffer, any, deadline.Token);
            return buffer.AsSpan(0, received.ReceivedBytes).SequenceEqual(probe);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            // Port unreachable while the peer is still starting.
            await Task.Delay(50);
            return false;
        }
    }

    public string Describe()
        => $"--- turnutils_peer {Endpoint} stdout ---\n{ToolRunner.Snapshot(_stdout)}\n--- turnutils_peer {Endpoint} stderr ---\n{ToolRunner.Snapshot(_stderr)}";

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
    }
}
