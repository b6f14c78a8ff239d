using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport.Linux;

/// <summary>
/// One data-plane thread: an epoll set holding its share of the UDP listening sockets and of the
/// relay sockets, and pinned native buffers for a batch. A ready socket is read with recvmmsg,
/// up to <see cref="Batch"/> datagrams a call; each is decided by <see cref="PacketPath"/> in
/// place in its slot, and what goes back out (answers, relayed frames to UDP clients) is sent
/// with one sendmmsg per destination socket; frames for TCP and TLS clients are appended to their
/// connections and flushed once a batch. Nothing here allocates per packet.
/// </summary>
internal sealed unsafe partial class EpollWorker : IDisposable
{
    /// <summary>Datagrams taken by one recvmmsg, and the most one sendmmsg sends.</summary>
    public const int Batch = 64;

    /// <summary>Receive calls one readiness event may make before other sockets get their turn.</summary>
    private const int RoundsPerEvent = 8;

    private const int EventCapacity = 256;
    private const int WakeToken = 0;
    private const int IdleWaitMs = 1000;

    /// <summary>A slot holds the largest datagram with room for a frame header in front and padding behind.</summary>
    private const int SlotStride = (PacketPath.PeerBufferLength + 63) & ~63;

    [ThreadStatic]
    private static EpollWorker? t_current;

    private readonly int _epoll;
    private readonly int _wake;
    private PacketPath _path = null!;
    private readonly RelayClock _clock;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly Lock _registry = new();
    private readonly Stack<int> _freeTokens = new();
    private readonly ConcurrentQueue<int> _retired = new();
    private readonly ConcurrentQueue<EpollStreamConnection> _adopted = new();
    private readonly List<EpollStreamConnection> _streams = [];
    private long _nextDeadlineCheck;
    private IEpollSource?[] _sources = new IEpollSource?[64];
    private int _nextToken = WakeToken + 1;
    private int _registered;

    private readonly byte* _memory;
    private readonly byte* _slots;
    private readonly byte* _slotsEnd;
    private readonly byte* _responses;
    private readonly byte* _events;
    private readonly Libc.MMsgHdr* _in;
    private readonly Libc.IoVec* _inIov;
    private readonly byte* _inNames;
    private readonly Libc.MMsgHdr* _out;
    private readonly Libc.IoVec* _outIov;
    private readonly byte* _outNames;
    private readonly Libc.MMsgHdr* _send;
    private readonly Libc.IoVec* _sendIov;

    private readonly int[] _outFd = new int[Batch];
    private readonly Allocation?[] _outAllocation = new Allocation?[Batch];
    private readonly int[] _outPayload = new int[Batch];
    private readonly TransportProtocol[] _outTransport = new TransportProtocol[Batch];
    private readonly FdHandle?[] _outRelay = new FdHandle?[Batch];
    private readonly int[] _sendOrder = new int[Batch];
    private readonly int[] _sendFd = new int[Batch];
    private readonly IBufferedClientSender?[] _dirty = new IBufferedClientSender?[Batch];
    private int _outCount;
    private int _dirtyCount;

    private long _busySince;
    private long _packets;
    private long _allocated;
    private volatile bool _stopping;
    private int _disposed;
    private int _streamCount;

    public EpollWorker(int index, RelayClock clock, ILogger logger)
    {
        Index = index;
        _clock = clock;
        _logger = logger;
        _epoll = Libc.EpollCreate1(Libc.EpollCloExec);
        _wake = Libc.EventFd(0, Libc.EfdNonBlock | Libc.EfdCloExec);
        if (_epoll < 0 || _wake < 0)
        {
            throw new InvalidOperationException($"epoll for data-plane thread #{index}: errno {Libc.Errno}");
        }

        Control(Libc.EpollCtlAdd, _wake, WakeToken, Libc.EpollIn);

        nuint slots = (nuint)Batch * SlotStride;
        nuint responses = (nuint)Batch * PacketPath.ResponseLength;
        nuint events = (nuint)(EventCapacity * Libc.EpollEventSize);
        nuint headers = (nuint)(3 * Batch * (Libc.MMsgHdrSize + sizeof(Libc.IoVec))) + (nuint)(2 * Batch * Libc.SockaddrSlot);
        _memory = (byte*)NativeMemory.AlignedAlloc(slots + responses + events + headers + 64, 4096);
        _slots = _memory;
        _slotsEnd = _slots + slots;
        _responses = _slotsEnd;
        _events = _responses + responses;
        byte* next = _events + ((events + 63) & ~(nuint)63);
        _in = (Libc.MMsgHdr*)next;
        next += Batch * Libc.MMsgHdrSize;
        _out = (Libc.MMsgHdr*)next;
        next += Batch * Libc.MMsgHdrSize;
        _send = (Libc.MMsgHdr*)next;
        next += Batch * Libc.MMsgHdrSize;
        _inIov = (Libc.IoVec*)next;
        next += Batch * sizeof(Libc.IoVec);
        _outIov = (Libc.IoVec*)next;
        next += Batch * sizeof(Libc.IoVec);
        _sendIov = (Libc.IoVec*)next;
        next += Batch * sizeof(Libc.IoVec);
        _inNames = next;
        next += Batch * Libc.SockaddrSlot;
        _outNames = next;
        PrepareReceive();

        _thread = new Thread(Run) { IsBackground = true, Name = $"turn data #{index}" };
    }

    /// <summary>The data-plane thread running now, or null on any other thread.</summary>
    public static EpollWorker? Current => t_current;

    public int Index { get; }

    /// <summary>Sockets registered: the measure by which new relay sockets are spread.</summary>
    public int Registered => Volatile.Read(ref _registered);

    /// <summary>Datagrams taken from the listening sockets.</summary>
    public long Packets => Volatile.Read(ref _packets);

    /// <summary>Bytes the thread allocated since it started.</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocated);

    public bool IsAlive => _thread.IsAlive;

    /// <summary>When the current batch started (a Stopwatch timestamp), 0 while waiting.</summary>
    public long BusySince => Volatile.Read(ref _busySince);

    /// <summary>
    /// Where a TCP client's bytes are read to: the slots, one contiguous area, so that what it
    /// relays joins the batch. Datagrams queued from the last read point into it, so they leave
    /// first: the area is only handed out again once nothing refers to it.
    /// </summary>
    public byte* TakeReadArea()
    {
        FlushOut();
        return _slots;
    }

    /// <summary>Where the answer to a TCP client's request is written before it is appended to the connection.</summary>
    public Span<byte> ResponseArea => new(_responses, PacketPath.ResponseLength);

    /// <summary>TCP clients this thread serves.</summary>
    public int Streams => Volatile.Read(ref _streamCount);

    /// <summary>Hands a TCP client to this thread; it joins the epoll set on the thread itself.</summary>
    public void Adopt(EpollStreamConnection connection)
    {
        _adopted.Enqueue(connection);
        Interlocked.Increment(ref _streamCount);
        Wake();
    }

    /// <summary>Data relayed from a TCP client's frames joins the outgoing batch until <see cref="EndClientBatch"/>.</summary>
    public void BeginClientBatch() => _clientBatch = TransportProtocol.Tcp;

    public void EndClientBatch()
    {
        _clientBatch = null;
        FlushOut();
        FlushDirty();
    }

    private void Wake()
    {
        ulong one = 1;
        Libc.Write(_wake, &one, sizeof(ulong));
    }

    public void Start(PacketPath path)
    {
        _path = path;
        _thread.Start();
    }

    // The loop never returns, so it would otherwise run unoptimised until on-stack replacement.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Run()
    {
        t_current = this;
        long allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        int dataOffset = Libc.EpollEventSize == 12 ? 4 : 8;
        while (!_stopping)
        {
            Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart);
            Volatile.Write(ref _busySince, 0);
            int ready = Libc.EpollWait(_epoll, _events, EventCapacity, IdleWaitMs);
            if (ready <= 0)
            {
                ReleaseRetired();
                Housekeeping();
                continue;
            }

            Volatile.Write(ref _busySince, Stopwatch.GetTimestamp());
            IEpollSource?[] sources = Volatile.Read(ref _sources);
            for (int e = 0; e < ready; e++)
            {
                byte* ev = _events + (e * Libc.EpollEventSize);
                int token = (int)*(ulong*)(ev + dataOffset);
                if (token == WakeToken)
                {
                    ulong value;
                    Libc.Read(_wake, &value, sizeof(ulong));
                    continue;
                }

                if ((uint)token < (uint)sources.Length && sources[token] is { } source)
                {
                    try
                    {
                        source.OnReady(this, *(uint*)ev);
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        DiscardBatch();
                        _path.Error(source.Transport);
                        TransportLog.HandlerFault(_logger, ex, source.Transport.ToString().ToLowerInvariant(), $"data-plane thread #{Index}");
                    }
                }
            }

            ReleaseRetired();
            Housekeeping();
        }
    }

    /// <summary>Takes in adopted TCP clients, and about once a second closes those past their deadline.</summary>
    private void Housekeeping()
    {
        while (_adopted.TryDequeue(out EpollStreamConnection? connection))
        {
            if (connection.Start(this))
            {
                _streams.Add(connection);
            }
            else
            {
                Interlocked.Decrement(ref _streamCount);
                connection.Close("could not be watched");
            }
        }

        long now = Environment.TickCount64;
        if (now < _nextDeadlineCheck)
        {
            return;
        }

        _nextDeadlineCheck = now + 1000;
        for (int i = _streams.Count - 1; i >= 0; i--)
        {
            if (_streams[i].CheckDeadline(now))
            {
                _streams[i] = _streams[^1];
                _streams.RemoveAt(_streams.Count - 1);
                Interlocked.Decrement(ref _streamCount);
            }
        }
    }

    /// <summary>After a fault: what was queued is dropped, and the relay sockets it held are let go.</summary>
    private void DiscardBatch()
    {
        for (int k = 0; k < _outCount; k++)
        {
            _outRelay[k]?.Release();
            _outRelay[k] = null;
            _outAllocation[k] = null;
        }

        _outCount = 0;
        Array.Clear(_dirty);
        _dirtyCount = 0;
        _clientBatch = null;
    }

    private void PrepareReceive()
    {
        for (int i = 0; i < Batch; i++)
        {
            _inIov[i].Base = Slot(i) + PeerData.Headroom;
            _inIov[i].Length = PacketPath.MaxDatagram;
            _in[i].Header = new Libc.MsgHdr
            {
                Name = _inNames + (i * Libc.SockaddrSlot),
                NameLength = Libc.SockaddrLength,
                Iov = &_inIov[i],
                IovLength = 1,
            };
        }
    }

    private byte* Slot(int i) => _slots + ((nint)i * SlotStride);

    /// <summary>One recvmmsg into the slots; the count, 0 when nothing was waiting, or -errno.</summary>
    private int Receive(int fd)
    {
        for (int i = 0; i < Batch; i++)
        {
            _in[i].Header.NameLength = Libc.SockaddrLength;
            _in[i].Header.Flags = 0;
        }

        int received = Libc.RecvMMsg(fd, _in, Batch, Libc.MsgDontWait, null);
        if (received >= 0)
        {
            return received;
        }

        int errno = Libc.Errno;
        return errno is Libc.EAgain or Libc.EIntr ? 0 : -errno;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        Wake();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        if (!_thread.IsAlive)
        {
            while (_adopted.TryDequeue(out EpollStreamConnection? adopted))
            {
                _streams.Add(adopted);
            }

            foreach (EpollStreamConnection connection in _streams)
            {
                connection.Close("server stopping");
            }

            _streams.Clear();
        }

        // A thread that did not stop in time still uses its buffers and descriptors: they are left to the process's end.
        if (!_thread.IsAlive)
        {
            Libc.Close(_wake);
            Libc.Close(_epoll);
            NativeMemory.AlignedFree(_memory);
        }
    }
}
