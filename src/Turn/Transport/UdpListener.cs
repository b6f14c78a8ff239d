using System.Net.Sockets;
using System.Net;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// One UDP listening address: several SO_REUSEPORT sockets, each read by its own thread with
/// blocking ReceiveFrom/SendTo on a reused <see cref="SocketAddress"/> and pinned buffers, so a
/// packet costs no allocation and no thread-pool hand-off.
/// </summary>
internal sealed class UdpListener : IClientTransport, IUdpEndpoint, IDisposable
{
    private const int ReceiveBufferLength = 65536;

    private readonly Socket[] _sockets;
    private readonly Thread[] _threads;
    private readonly StunAddress _local;
    private readonly long[] _loopPackets;
    private readonly long[] _loopAllocated;
    private readonly long[] _busySince;
    private volatile bool _stopping;

    private UdpListener(ListenEndpoint endpoint, Socket[] sockets)
    {
        Endpoint = endpoint;
        _sockets = sockets;
        _threads = new Thread[sockets.Length];
        _loopPackets = new long[sockets.Length];
        _loopAllocated = new long[sockets.Length];
        _busySince = new long[sockets.Length];
        LocalEndPoint = (IPEndPoint)sockets[0].LocalEndPoint!;
        _local = StunAddress.FromIPEndPoint(LocalEndPoint);
    }

    public ListenEndpoint Endpoint { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Packets the receive threads have taken.</summary>
    public long Packets => Sum(_loopPackets);

    /// <summary>Bytes the receive threads have allocated since they started: the proof that a packet costs none.</summary>
    public long AllocatedBytes => Sum(_loopAllocated);

    /// <summary>
    /// Why a receive thread is not well: it ended, or it has been on one packet longer than
    /// <paramref name="limit"/>. Null when every thread is waiting for a packet or working on one.
    /// </summary>
    public string? Stall(TimeSpan limit)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int i = 0; i < _threads.Length; i++)
        {
            if (_stopping)
            {
                return null;
            }

            if (_threads[i] is { IsAlive: false })
            {
                return $"udp {LocalEndPoint} thread #{i} has ended";
            }

            long since = Volatile.Read(ref _busySince[i]);
            if (since != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(since, now) > limit)
            {
                return $"udp {LocalEndPoint} thread #{i} has been on one packet for over {limit.TotalSeconds:F0} s";
            }
        }

        return null;
    }

    /// <summary>The socket replies are sent from when another listener's role is asked for.</summary>
    public Socket SendSocket => _sockets[0];

    /// <summary>Binds <paramref name="shards"/> sockets to the endpoint; throws <see cref="SocketException"/> if it is taken.</summary>
    public static UdpListener Bind(ListenEndpoint endpoint, int shards)
        => new(endpoint, SocketOptions.BindUdpShards(endpoint.EndPoint, shards));

    public void Start(PacketPath path, UdpListenerSet set, ILogger logger, RelayClock? clock = null)
    {
        clock ??= RelayClock.System;
        for (int i = 0; i < _sockets.Length; i++)
        {
            Socket socket = _sockets[i];
            int index = i;
            _threads[i] = new Thread(() => ReceiveLoop(index, socket, path, set, logger, clock))
            {
                IsBackground = true,
                Name = $"udp {LocalEndPoint} #{i}",
            };
            _threads[i].Start();
        }

        TransportLog.Listening(logger, "udp", LocalEndPoint);
    }

    /// <summary>Relayed data for an allocation made here leaves from this address, as the client expects.</summary>
    public IClientSender SenderFor(StunAddress client)
    {
        var address = new SocketAddress(client.Family);
        client.WriteTo(address);
        return new UdpClientSender(_sockets[0], address);
    }

    /// <summary>UDP has no connection whose end would end the allocation; its lifetime does.</summary>
    public void Attach(Allocation allocation)
    {
    }

    // The loop never returns, so it would otherwise run unoptimised until on-stack replacement.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ReceiveLoop(int index, Socket socket, PacketPath path, UdpListenerSet set, ILogger logger, RelayClock clock)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(ReceiveBufferLength, pinned: true);
        byte[] response = GC.AllocateUninitializedArray<byte>(PacketPath.ResponseLength, pinned: true);
        var remote = new SocketAddress(socket.AddressFamily);
        long allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        while (!_stopping)
        {
            Volatile.Write(ref _loopAllocated[index], GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart);
            Volatile.Write(ref _busySince[index], 0);
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

                path.Error(TransportProtocol.Udp);
                TransportLog.ReceiveFailed(logger, "udp", LocalEndPoint, e.SocketErrorCode.ToString());
                continue;
            }

            // One clock read marks the thread busy (for the watchdog) and starts the request's timing.
            long taken = System.Diagnostics.Stopwatch.GetTimestamp();
            Volatile.Write(ref _loopPackets[index], _loopPackets[index] + 1);
            Volatile.Write(ref _busySince[index], taken);
            try
            {
                var context = new RequestContext(TransportProtocol.Udp, StunAddress.FromSocketAddress(remote), _local, Endpoint.Role)
                {
                    NowMs = clock.NowMs,
                    UnixSeconds = clock.UnixSeconds,
                    Client = this,
                };
                HandleResult result = path.FromClient(buffer.AsSpan(0, received), context, response);
                if (result.Length > 0)
                {
                    Reply(socket, set, remote, result, response, path, logger);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                path.Error(TransportProtocol.Udp);
                TransportLog.HandlerFault(logger, e, "udp", StunAddress.FromSocketAddress(remote).ToString());
            }
        }
    }

    private void Reply(Socket socket, UdpListenerSet set, SocketAddress remote, in HandleResult result, byte[] response, PacketPath path, ILogger logger)
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
            path.Error(TransportProtocol.Udp);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                TransportLog.SendFailed(logger, "udp", StunAddress.FromSocketAddress(remote).ToString(), e.SocketErrorCode.ToString());
            }
        }
    }

    private static long Sum(long[] values)
    {
        long sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += Volatile.Read(ref values[i]);
        }

        return sum;
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
