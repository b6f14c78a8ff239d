using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport.Linux;

/// <summary>
/// The Linux data plane: a fixed set of threads, each with its own epoll set, one socket of every
/// UDP listening address (SO_REUSEPORT) and its share of the relay sockets, read and written in
/// batches (recvmmsg, sendmmsg). A relay socket is a bare descriptor registered with the thread
/// that made its allocation, so a call's two directions meet on one thread.
/// </summary>
internal sealed class EpollDataPlane : IDataPlane
{
    private readonly EpollWorker[] _workers;
    private readonly List<EpollUdpListener> _listeners = [];
    private readonly ILogger _logger;
    private readonly RelayClock _clock;
    private PacketPath? _path;
    private bool _started;
    private int _disposed;

    public EpollDataPlane(int threads, RelayClock clock, ILogger logger)
    {
        _logger = logger;
        _clock = clock;
        _workers = new EpollWorker[threads];
        try
        {
            for (int i = 0; i < threads; i++)
            {
                _workers[i] = new EpollWorker(i, clock, logger);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name => "epoll";

    public int Threads => _workers.Length;

    public IReadOnlyList<IUdpEndpoint> Listeners => _listeners;

    public long Packets => _workers.Sum(static w => w.Packets);

    public long AllocatedBytes => _workers.Sum(static w => w.AllocatedBytes);

    public IUdpEndpoint BindUdp(ListenEndpoint endpoint)
    {
        // The threads read the listener list without a lock: it is complete before they start.
        if (_started)
        {
            throw new InvalidOperationException("UDP addresses are bound before the data plane starts");
        }

        EpollUdpListener listener = EpollUdpListener.Bind(this, endpoint, _workers.Length);
        _listeners.Add(listener);
        return listener;
    }

    public IRelayEndpoint? OpenRelay(IPAddress address, int port, bool dontFragment) => EpollRelayEndpoint.Open(this, address, port, dontFragment);

    public void Start(PacketPath path)
    {
        _path = path;
        foreach (EpollUdpListener listener in _listeners)
        {
            Register(listener);
        }

        foreach (EpollWorker worker in _workers)
        {
            worker.Start(path);
        }

        _started = true;
    }

    private void Register(EpollUdpListener listener)
    {
        for (int i = 0; i < _workers.Length; i++)
        {
            EpollUdpSocket shard = listener.Shards[i];
            if (_workers[i].Register(shard.Fd, shard) < 0)
            {
                throw new SocketException((int)SocketError.SocketError);
            }
        }

        TransportLog.Listening(_logger, "udp", listener.LocalEndPoint);
    }

    /// <summary>
    /// Takes a plain TCP client: it is served by the data-plane thread with the fewest TCP
    /// clients, and <paramref name="closed"/> is called with the reason once it ends.
    /// </summary>
    public void AdoptStream(Socket client, ListenEndpoint endpoint, StreamLimits limits, Action<EpollStreamConnection, string> closed)
    {
        EpollWorker worker = _workers[0];
        for (int i = 1; i < _workers.Length; i++)
        {
            if (_workers[i].Streams < worker.Streams)
            {
                worker = _workers[i];
            }
        }

        worker.Adopt(new EpollStreamConnection(client, endpoint, _path!, _clock, limits, closed));
    }

    /// <summary>The thread with the fewest sockets, for a relay socket whose allocation came in elsewhere (over TCP or TLS).</summary>
    public EpollWorker LeastLoaded()
    {
        EpollWorker best = _workers[0];
        for (int i = 1; i < _workers.Length; i++)
        {
            if (_workers[i].Registered < best.Registered)
            {
                best = _workers[i];
            }
        }

        return best;
    }

    /// <summary>
    /// The socket an answer leaves from when RFC 5780 asks for another address or port: the
    /// listener of that role and family, the shard of the same thread; <paramref name="fallback"/> when there is none.
    /// </summary>
    public int FdFor(AddressFamily family, int role, int thread, int fallback)
    {
        foreach (EpollUdpListener listener in _listeners)
        {
            if (listener.Endpoint.Role == role && listener.Family == family)
            {
                return listener.Shards[thread].Fd;
            }
        }

        return fallback;
    }

    public string? Stall(TimeSpan limit)
    {
        if (!_started)
        {
            return null;
        }

        long now = Stopwatch.GetTimestamp();
        foreach (EpollWorker worker in _workers)
        {
            if (!worker.IsAlive)
            {
                return $"data-plane thread #{worker.Index} has ended";
            }

            long since = worker.BusySince;
            if (since != 0 && Stopwatch.GetElapsedTime(since, now) > limit)
            {
                return $"data-plane thread #{worker.Index} has been on one batch for over {limit.TotalSeconds:F0} s";
            }
        }

        return null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (EpollWorker? worker in _workers)
        {
            worker?.Dispose();
        }

        foreach (EpollUdpListener listener in _listeners)
        {
            listener.Dispose();
        }
    }
}
