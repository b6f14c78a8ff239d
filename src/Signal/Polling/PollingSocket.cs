using System.Net.WebSockets;

namespace Turn.Signal.Polling;

/// <summary>
/// One signaling session over plain HTTP, seen by the signaling connection as a WebSocket: what
/// the client POSTs are its received messages, and what the connection sends waits here for the
/// client's next long poll. Both directions are bounded: a client that posts faster than the
/// connection reads is refused (429), and one that does not poll fills the connection's own send
/// queue, which closes it as too slow, as a WebSocket reader would be. What waits for a poll is
/// the messages themselves (shared with their other recipients, not copied), at most
/// <paramref name="maxOutboundBytes"/> (Signal:SendQueueBytes), as a socket's send buffer would
/// hold them. No I/O of its own.
/// </summary>
internal sealed class PollingSocket(int maxOutboundBytes) : WebSocket
{
    /// <summary>Client messages waiting to be read by the connection: as many as a WebSocket's reader would have in hand, give or take.</summary>
    public const int MaxInbound = 256;

    private readonly Lock _lock = new();
    private readonly Queue<byte[]> _inbound = new();
    private int _inboundBytes;
    private readonly List<ReadOnlyMemory<byte>> _outbound = [];
    private int _outboundBytes;
    private long _acknowledged;
    private long _handedOut;
    private byte[]? _reading;
    private int _readOffset;
    private TaskCompletionSource? _readable;
    private TaskCompletionSource? _writable;
    private TaskCompletionSource<bool>? _poll;
    private WebSocketState _state = WebSocketState.Open;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;

    /// <summary>When the client was last heard from (Environment.TickCount64), for the sweep of abandoned sessions.</summary>
    public long LastSeenMs { get; private set; } = Environment.TickCount64;

    /// <summary>Whether a poll is waiting now.</summary>
    public bool Polling
    {
        get
        {
            lock (_lock)
            {
                return _poll is not null;
            }
        }
    }

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeDescription;

    public override WebSocketState State => _state;

    public override string? SubProtocol => null;

    /// <summary>Messages the client posted; false when the session is over or more than <see cref="MaxInbound"/> or <paramref name="maxBytes"/> would wait.</summary>
    public bool TryPost(List<byte[]> messages, int maxBytes)
    {
        TaskCompletionSource? readable;
        lock (_lock)
        {
            int bytes = messages.Sum(m => m.Length);
            if (_state is not (WebSocketState.Open or WebSocketState.CloseSent) || _inbound.Count + messages.Count > MaxInbound || _inboundBytes + bytes > maxBytes)
            {
                return false;
            }

            foreach (byte[] message in messages)
            {
                _inbound.Enqueue(message);
            }

            _inboundBytes += bytes;

            readable = _readable;
            _readable = null;
        }

        readable?.TrySetResult();
        return true;
    }

    /// <summary>The client closed the session: the connection reads a close.</summary>
    public void ClientClosed()
    {
        TaskCompletionSource? readable;
        lock (_lock)
        {
            if (_state == WebSocketState.Open)
            {
                _state = WebSocketState.CloseReceived;
            }
            else if (_state == WebSocketState.CloseSent)
            {
                _state = WebSocketState.Closed;
            }

            readable = _readable;
            _readable = null;
        }

        readable?.TrySetResult();
    }

    /// <summary>
    /// Takes the client's acknowledgement (<paramref name="acknowledged"/>: the sequence number of
    /// the last message it received; null: all handed out so far), then waits up to
    /// <paramref name="wait"/> for messages and answers every one not yet acknowledged, with the
    /// sequence number of the last. So a response lost on the way is sent again by the next poll,
    /// and what no poll delivered goes to a resume elsewhere. An empty batch when none came (or a
    /// newer poll took over, or the request was aborted); null when the session is over and
    /// everything was acknowledged.
    /// </summary>
    public async Task<(long Sequence, List<ReadOnlyMemory<byte>> Messages)?> PollAsync(long? acknowledged, TimeSpan wait, CancellationToken aborted)
    {
        TaskCompletionSource<bool> poll;
        TaskCompletionSource<bool>? older;
        lock (_lock)
        {
            LastSeenMs = Environment.TickCount64;
            Acknowledge(acknowledged ?? _handedOut);
            if (_outbound.Count > 0 || _state is not (WebSocketState.Open or WebSocketState.CloseReceived))
            {
                return HandOut();
            }

            older = _poll;
            _poll = poll = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        older?.TrySetResult(false);
        using (aborted.Register(static p => ((TaskCompletionSource<bool>)p!).TrySetResult(false), poll))
        {
            // Its timer goes with the wait when a message ends it early.
            await ((Task)poll.Task).WaitAsync(wait, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        lock (_lock)
        {
            LastSeenMs = Environment.TickCount64;
            bool superseded = _poll is not null && _poll != poll;
            if (_poll == poll)
            {
                _poll = null;
            }

            return superseded || aborted.IsCancellationRequested ? (_acknowledged, []) : HandOut();
        }
    }

    private void Acknowledge(long sequence)
    {
        int count = (int)Math.Clamp(sequence - _acknowledged, 0, _outbound.Count);
        for (int i = 0; i < count; i++)
        {
            _outboundBytes -= _outbound[i].Length;
        }

        _outbound.RemoveRange(0, count);
        _acknowledged += count;
        if (count > 0)
        {
            TaskCompletionSource? writable = _writable;
            _writable = null;
            writable?.TrySetResult();
        }
    }

    private (long, List<ReadOnlyMemory<byte>>)? HandOut()
    {
        if (_outbound.Count == 0 && _state is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return null;
        }

        _handedOut = _acknowledged + _outbound.Count;
        return (_handedOut, [.. _outbound]);
    }

    /// <summary>The client was heard from (a post).</summary>
    public void Seen()
    {
        lock (_lock)
        {
            LastSeenMs = Environment.TickCount64;
        }
    }

    /// <summary>What was sent and the client has not acknowledged: a resume over another connection delivers it there.</summary>
    public List<ReadOnlyMemory<byte>> TakeUnpolled()
    {
        lock (_lock)
        {
            List<ReadOnlyMemory<byte>> taken = [.. _outbound];
            Acknowledge(_acknowledged + _outbound.Count);
            return taken;
        }
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_state == WebSocketState.Aborted)
                {
                    throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely);
                }

                if (_reading is null && _inbound.TryDequeue(out byte[]? next))
                {
                    _reading = next;
                    _readOffset = 0;
                    _inboundBytes -= next.Length;
                }

                if (_reading is not null)
                {
                    int count = Math.Min(buffer.Length, _reading.Length - _readOffset);
                    _reading.AsSpan(_readOffset, count).CopyTo(buffer.Span);
                    _readOffset += count;
                    bool end = _readOffset == _reading.Length;
                    if (end)
                    {
                        _reading = null;
                    }

                    return new ValueWebSocketReceiveResult(count, WebSocketMessageType.Text, end);
                }

                if (_state is WebSocketState.CloseReceived or WebSocketState.Closed)
                {
                    return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true);
                }

                _readable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _readable.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
        => ReceiveAsync(buffer.AsMemory(), cancellationToken).AsTask().ContinueWith(
            static t => new WebSocketReceiveResult(t.Result.Count, t.Result.MessageType, t.Result.EndOfMessage),
            cancellationToken,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    public override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        // The signaling connection sends each message whole (endOfMessage), one at a time.
        while (true)
        {
            Task wait;
            TaskCompletionSource<bool>? poll;
            lock (_lock)
            {
                if (_state is not (WebSocketState.Open or WebSocketState.CloseReceived))
                {
                    throw new WebSocketException(WebSocketError.InvalidState);
                }

                if (_outboundBytes < maxOutboundBytes)
                {
                    // The connection's messages are never written to again: kept, not copied.
                    _outbound.Add(buffer);
                    _outboundBytes += buffer.Length;
                    poll = _poll;
                    _poll = null;
                }
                else
                {
                    _writable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _writable.Task;
                    goto Wait;
                }
            }

            poll?.TrySetResult(true);
            return;
        Wait:
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        => SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    /// <summary>The server's close: what is queued still goes to the next poll, then the session is gone.</summary>
    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool>? poll;
        lock (_lock)
        {
            _closeStatus ??= closeStatus;
            _closeDescription ??= statusDescription;

            // No closing handshake over HTTP: closed at once.
            _state = _state == WebSocketState.Aborted ? WebSocketState.Aborted : WebSocketState.Closed;
            poll = _poll;
            _poll = null;
        }

        poll?.TrySetResult(true);
        Wake();
        return Task.CompletedTask;
    }

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
        => CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    /// <summary>The session is abandoned (no poll for too long) or the server is done with it: reads fail as a lost connection would.</summary>
    public override void Abort()
    {
        TaskCompletionSource<bool>? poll;
        lock (_lock)
        {
            if (_state is WebSocketState.Closed)
            {
                return;
            }

            // As with a WebSocket that dies, what was already on its way counts as sent; what no
            // poll took yet is undelivered, and goes to a resume.
            Acknowledge(_handedOut);
            _state = WebSocketState.Aborted;
            poll = _poll;
            _poll = null;
        }

        poll?.TrySetResult(true);
        Wake();
    }

    public override void Dispose() => Abort();

    private void Wake()
    {
        TaskCompletionSource? readable, writable;
        lock (_lock)
        {
            readable = _readable;
            writable = _writable;
            _readable = _writable = null;
        }

        readable?.TrySetResult();
        writable?.TrySetResult();
    }
}
