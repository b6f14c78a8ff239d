using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One UDP listening address: several SO_REUSEPORT sockets, each read by its own thread with
/// blocking ReceiveFrom/SendTo on a reused <see cref="SocketAddress"/> and pinned buffers, so a
/// packet costs no allocation and no thread-pool hand-off.
/// </summary>
internal sealed class UdpListener : IDisposable
{
    private const int ReceiveBufferLength = 65536;
    private const int ResponseBufferLength = 2048;

    private readonly Socket[] _sockets;
    private readonly Thread[] _threads;
    private readonly StunAddress _local;
    private volatile bool _stopping;

    private UdpListener(ListenEndpoint endpoint, Socket[] sockets)
    {
        Endpoint = endpoint;
        _sockets = sockets;
        _threads = new Thread[sockets.Length];
        LocalEndPoint = (IPEndPoint)sockets[0].LocalEndPoint!;
        _local = StunAddress.FromIPEndPoint(LocalEndPoint);
    }

    public ListenEndpoint Endpoint { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The socket replies are sent from when another listener's role is asked for.</summary>
    public Socket SendSocket => _sockets[0];

    /// <summary>Binds <paramref name="shards"/> sockets to the endpoint; throws <see cref="SocketException"/> if it is taken.</summary>
    public static UdpListener Bind(ListenEndpoint endpoint, int shards)
    {
        var sockets = new Socket[shards];
        try
        {
            IPEndPoint bindTo = endpoint.EndPoint;
            for (int i = 0; i < shards; i++)
            {
                Socket socket = SocketOptions.Create(bindTo.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                sockets[i] = socket;
                if (shards > 1)
                {
                    SocketOptions.EnableReusePort(socket);
                }

                socket.Bind(bindTo);

                // With port 0 the first socket picks the port, and the others join it.
                bindTo = (IPEndPoint)socket.LocalEndPoint!;
            }

            return new UdpListener(endpoint, sockets);
        }
        catch
        {
            foreach (Socket? socket in sockets)
            {
                socket?.Dispose();
            }

            throw;
        }
    }

    public void Start(StunRequestHandler handler, UdpListenerSet set, TurnMetrics metrics, ILogger logger)
    {
        for (int i = 0; i < _sockets.Length; i++)
        {
            Socket socket = _sockets[i];
            _threads[i] = new Thread(() => ReceiveLoop(socket, handler, set, metrics, logger))
            {
                IsBackground = true,
                Name = $"udp {LocalEndPoint} #{i}",
            };
            _threads[i].Start();
        }

        TransportLog.Listening(logger, "udp", LocalEndPoint);
    }

    private void ReceiveLoop(Socket socket, StunRequestHandler handler, UdpListenerSet set, TurnMetrics metrics, ILogger logger)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferLength, pinned: true);
        byte[] response = GC.AllocateUninitializedArray<byte>(ResponseBufferLength, pinned: true);
        var remote = new SocketAddress(socket.AddressFamily);
        while (!_stopping)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, remote);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                if (_stopping)
                {
                    return;
                }

                metrics.CountError(TransportProtocol.Udp);
                TransportLog.ReceiveFailed(logger, "udp", LocalEndPoint, e.SocketErrorCode.ToString());
                continue;
            }

            try
            {
                var context = new RequestContext(TransportProtocol.Udp, StunAddress.FromSocketAddress(remote), _local, Endpoint.Role);
                HandleResult result = handler.Handle(buffer.AsSpan(0, received), context, response);
                metrics.CountPacket(TransportProtocol.Udp, result.Outcome);
                if (result.Length > 0)
                {
                    Reply(socket, set, remote, result, response, metrics, logger);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                metrics.CountError(TransportProtocol.Udp);
                TransportLog.HandlerFault(logger, e, "udp", StunAddress.FromSocketAddress(remote).ToString());
            }
        }
    }

    private void Reply(Socket socket, UdpListenerSet set, SocketAddress remote, in HandleResult result, byte[] response, TurnMetrics metrics, ILogger logger)
    {
        Socket from = result.ResponseRole == Endpoint.Role ? socket : set.SocketFor(socket.AddressFamily, result.ResponseRole) ?? socket;
        if (result.ResponsePort != 0)
        {
            // RFC 5780 §7.5: RESPONSE-PORT redirects the reply to another port of the same client address.
            StunAddress.FromSocketAddress(remote).WithPort(result.ResponsePort).WriteTo(remote);
        }

        try
        {
            from.SendTo(response.AsSpan(0, result.Length), SocketFlags.None, remote);
        }
        catch (SocketException e)
        {
            metrics.CountError(TransportProtocol.Udp);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.SendFailed(logger, "udp", StunAddress.FromSocketAddress(remote).ToString(), e.SocketErrorCode.ToString());
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }

        foreach (Thread? thread in _threads)
        {
            thread?.Join(TimeSpan.FromSeconds(2));
        }
    }
}
