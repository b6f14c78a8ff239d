using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport.Linux;

/// <summary>
/// A plain TCP client on the Linux data plane: its socket sits in a data-plane thread's epoll set
/// beside the relay sockets, so its frames are read, answered and relayed on that thread with no
/// hand-off, and what it sends to peers joins the thread's outgoing batch. Writes (answers and
/// relayed data) are appended to one buffer bounded in bytes and sent without blocking; when the
/// kernel will not take more, the thread waits for room (EPOLLOUT) and a slow client loses relayed
/// packets rather than growing memory. A partial frame is kept between reads in a buffer rented
/// for it; an idle connection holds none. Deadlines (first message, idle) are checked by the thread
/// about once a second. Closing the connection ends the allocation made on it (RFC 8656 §7).
/// </summary>
internal sealed unsafe class EpollStreamConnection : IEpollSource, IClientTransport, IBufferedClientSender
{
    /// <summary>The first array a partial frame is kept in.</summary>
    private const int InitialBufferLength = 4096;

    /// <summary>Bytes one read takes at most: many frames, so that one call serves a burst.</summary>
    private const int ReadLength = 256 * 1024;

    private const int ReadsPerEvent = 4;
    private const uint ReadEvents = Libc.EpollIn | Libc.EpollRdHup;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly RequestContext _context;
    private readonly PacketPath _path;
    private readonly RelayClock _clock;
    private readonly StreamLimits _limits;
    private readonly Action<EpollStreamConnection, string> _closed;
    private readonly Lock _lock = new();

    private EpollWorker? _worker;
    private int _token = -1;
    private Allocation? _allocation;
    private byte[]? _partial;
    private int _partialLength;
    private OutputBuffer _out;
    private bool _waitingForRoom;
    private bool _isClosed;
    private long _deadline;
    private long _messages;

    public EpollStreamConnection(Socket socket, ListenEndpoint endpoint, PacketPath path, RelayClock clock, StreamLimits limits, Action<EpollStreamConnection, string> closed)
    {
        _socket = socket;
        _fd = (int)socket.Handle;
        _path = path;
        _clock = clock;
        _limits = limits;
        _closed = closed;
        Remote = socket.RemoteEndPoint;
        _context = new RequestContext(TransportProtocol.Tcp, StunAddress.FromIPEndPoint((IPEndPoint)Remote!), StunAddress.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!), endpoint.Role) { Client = this };
        _deadline = Environment.TickCount64 + (long)limits.FirstMessageTimeout.TotalMilliseconds;
    }

    public EndPoint? Remote { get; }

    public bool IsClosed => Volatile.Read(ref _isClosed);

    public IClientSender SenderFor(StunAddress client) => this;

    public void Attach(Allocation allocation) => _allocation = allocation;

    /// <summary>Joins <paramref name="worker"/>'s epoll set; called on that thread.</summary>
    public bool Start(EpollWorker worker)
    {
        _worker = worker;
        _token = worker.Register(_fd, this, ReadEvents);
        return _token >= 0;
    }

    public TransportProtocol Transport => TransportProtocol.Tcp;

    public void OnReady(EpollWorker worker, uint events)
    {
        if (IsClosed)
        {
            return;
        }

        if ((events & Libc.EpollOut) != 0)
        {
            Flush();
        }

        if ((events & (Libc.EpollIn | Libc.EpollRdHup | Libc.EpollHup | Libc.EpollErr)) != 0)
        {
            Read(worker);
        }
    }

    /// <summary>Closes the connection when its deadline passed: the first message, or the next one, is overdue.</summary>
    public bool CheckDeadline(long now)
    {
        if (IsClosed)
        {
            return true;
        }

        if (now < _deadline)
        {
            return false;
        }

        Close(_messages > 0 ? "idle (no complete message)" : "no complete first message in time");
        return true;
    }

    private void Read(EpollWorker worker)
    {
        worker.BeginClientBatch();
        try
        {
            for (int round = 0; round < ReadsPerEvent; round++)
            {
                byte* area = worker.TakeReadArea();
                // A partial frame from the last read goes first, then what has arrived since.
                int filled = _partialLength;
                if (filled > 0)
                {
                    _partial.AsSpan(0, filled).CopyTo(new Span<byte>(area, filled));
                }

                nint read = Libc.Recv(_fd, area + filled, ReadLength, Libc.MsgDontWait);
                if (read == 0)
                {
                    Close("closed by peer");
                    return;
                }

                if (read < 0)
                {
                    int errno = Libc.Errno;
                    if (errno is not (Libc.EAgain or Libc.EIntr))
                    {
                        Close(errno == Libc.EConnReset ? "connection reset by peer" : $"receive failed (errno {errno})");
                    }

                    return;
                }

                filled += (int)read;
                if (!Frames(worker, area, filled))
                {
                    return;
                }

                if (read < ReadLength)
                {
                    return;
                }
            }
        }
        finally
        {
            worker.EndClientBatch();
            Flush();
        }
    }

    /// <summary>Handles every complete frame in the area and keeps the rest; false when the connection was closed.</summary>
    private bool Frames(EpollWorker worker, byte* area, int filled)
    {
        // One read's frames share one moment.
        RequestContext context = _context with { NowMs = _clock.NowMs, UnixSeconds = _clock.UnixSeconds };
        int consumed = 0;
        while (true)
        {
            var rest = new ReadOnlySpan<byte>(area + consumed, filled - consumed);
            FrameStatus status = StreamFraming.TryGetFrame(rest, out int frameLength, out _);
            if (status == FrameStatus.Invalid)
            {
                _path.NotStun(TransportProtocol.Tcp);
                Close("not STUN");
                return false;
            }

            if (status == FrameStatus.NeedMore)
            {
                KeepPartial(rest);
                return true;
            }

            _messages++;
            if (consumed == 0)
            {
                // A complete message keeps the connection: once per read is enough.
                _deadline = Environment.TickCount64 + (long)_limits.IdleTimeout.TotalMilliseconds;
            }

            Span<byte> response = worker.ResponseArea;
            HandleResult result = _path.FromClient(rest[..frameLength], context, response);
            if (result.Length > 0 && !Append(response[..result.Length]))
            {
                Close("send queue full");
                return false;
            }

            consumed += frameLength;
        }
    }

    private void KeepPartial(ReadOnlySpan<byte> rest)
    {
        if (rest.IsEmpty)
        {
            if (_partial is not null)
            {
                ArrayPool<byte>.Shared.Return(_partial);
                _partial = null;
            }

            _partialLength = 0;
            return;
        }

        if (_partial is null || _partial.Length < rest.Length)
        {
            if (_partial is not null)
            {
                ArrayPool<byte>.Shared.Return(_partial);
            }

            _partial = ArrayPool<byte>.Shared.Rent(Math.Max(rest.Length, InitialBufferLength));
        }

        rest.CopyTo(_partial);
        _partialLength = rest.Length;
    }

    public bool Append(ReadOnlySpan<byte> packet)
    {
        lock (_lock)
        {
            return !_isClosed && _out.TryAppend(packet);
        }
    }

    /// <summary>Sends what is pending without blocking; what the kernel will not take waits for EPOLLOUT.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_isClosed || _out.Length == 0)
            {
                return;
            }

            switch (_out.SendTo(_fd))
            {
                case OutputBuffer.SendResult.All:
                    if (_waitingForRoom)
                    {
                        _waitingForRoom = false;
                        _worker!.Modify(_fd, _token, ReadEvents);
                    }

                    return;
                case OutputBuffer.SendResult.Broken:
                    // The connection broke: the read side sees it too and closes it.
                    _out.Release();
                    return;
            }

            if (!_waitingForRoom)
            {
                _waitingForRoom = true;
                _worker!.Modify(_fd, _token, ReadEvents | Libc.EpollOut);
            }
        }
    }

    /// <summary>Ends the connection on its thread: leaves the epoll set, ends its allocation, closes the socket.</summary>
    public void Close(string reason)
    {
        lock (_lock)
        {
            if (_isClosed)
            {
                return;
            }

            _isClosed = true;
            _out.Release();

            if (_token >= 0)
            {
                _worker!.Unregister(_fd, _token);
                _token = -1;
            }
        }

        if (_partial is not null)
        {
            ArrayPool<byte>.Shared.Return(_partial);
            _partial = null;
            _partialLength = 0;
        }

        if (_allocation is not null && _path.Handler.Relay is { } relay)
        {
            relay.Allocations.Remove(_allocation, AllocationEnd.ConnectionClosed, _clock.NowMs);
        }

        _socket.Dispose();
        _closed(this, reason);
    }
}
