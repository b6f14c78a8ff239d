using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Turn.Tests.Interop;

/// <summary>
/// coturn's `turnutils_peer` as a child process: the far-end UDP echo peer that turnutils_uclient
/// sends to through a relay. Ready once it echoes a datagram; Dispose kills it by PID.
/// </summary>
internal sealed class PeerProcess : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private PeerProcess(ChildProcess process, IPEndPoint endpoint)
    {
        _process = process;
        Endpoint = endpoint;
    }

    public IPEndPoint Endpoint { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<PeerProcess> StartAsync(IPEndPoint endpoint)
    {
        string[] arguments = ["-L", endpoint.Address.ToString(), "-p", endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        var peer = new PeerProcess(ChildProcess.Start($"turnutils_peer {endpoint}", ToolRunner.Require("turnutils_peer"), arguments, null), endpoint);
        try
        {
            await peer._process.WaitUntilAsync(() => Echoes(endpoint, TimeSpan.FromMilliseconds(200)), "an echo", peer.Describe);
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
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
            return false;
        }
    }

    public string Describe() => _process.Describe();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
