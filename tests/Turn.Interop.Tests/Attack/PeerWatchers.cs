using System.Net;
using System.Net.Sockets;

namespace Turn.Tests.Attack;

/// <summary>
/// UDP sockets standing where a relay must never deliver (loopback services, a second loopback
/// address, IPv6 loopback), each counting what reaches it, so a test can assert that an attack
/// delivered zero bytes, not only that it was answered with an error.
/// </summary>
internal sealed class PeerWatchers : IAsyncDisposable
{
    private readonly List<(Socket Socket, Task Loop)> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private long _bytes;
    private long _datagrams;

    public PeerWatchers(params IPAddress[] addresses)
    {
        foreach (IPAddress address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(address, 0));
            Endpoints.Add((IPEndPoint)socket.LocalEndPoint!);
            _sockets.Add((socket, Listen(socket)));
        }
    }

    public List<IPEndPoint> Endpoints { get; } = [];

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Datagrams => Interlocked.Read(ref _datagrams);

    private async Task Listen(Socket socket)
    {
        byte[] buffer = new byte[65536];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                SocketReceiveFromResult result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
                Interlocked.Add(ref _bytes, result.ReceivedBytes);
                Interlocked.Increment(ref _datagrams);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach ((Socket socket, Task loop) in _sockets)
        {
            socket.Dispose();
            await loop;
        }

        _stop.Dispose();
    }
}
