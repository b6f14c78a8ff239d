using System.Net.WebSockets;

namespace Turn.Signal;

/// <summary>The send queue: bounded in messages and bytes, written by one writer, handed over at a resume.</summary>
internal sealed partial class SignalConnection
{
    /// <summary>
    /// Queues the message itself (a buffer shared with other recipients is not copied). A
    /// connection over its own limit in messages or bytes is a reader too slow: it is closed. When
    /// the daemon's budget or this address's share is spent, the message is dropped and the
    /// connection lives on. A connection with nothing queued always takes one message.
    /// </summary>
    public bool TrySend(ReadOnlyMemory<byte> utf8Json)
    {
        int length = utf8Json.Length;
        int queued = Interlocked.Add(ref _queuedBytes, length);
        bool alone = queued == length;
        if (!alone && queued > _hub.Options.SendQueueBytes)
        {
            Interlocked.Add(ref _queuedBytes, -length);
            _hub.Metrics.SendQueueDropped();
            Close("send queue full");
            return false;
        }

        if (!_hub.Budget.TryTake(length, _share))
        {
            if (!alone)
            {
                Interlocked.Add(ref _queuedBytes, -length);
                _hub.Metrics.Shed();
                return false;
            }

            _hub.Budget.Take(length, _share);
        }

        if (Enqueue(utf8Json))
        {
            return true;
        }

        // Full in messages, or closed already.
        Dequeued(length);
        _hub.Metrics.SendQueueDropped();
        Close("send queue full");
        return false;
    }

    /// <summary>Queues one message, and starts the writer when none runs; false when full in messages or ended.</summary>
    private bool Enqueue(ReadOnlyMemory<byte> message)
    {
        lock (_sendLock)
        {
            _pending ??= new Queue<ReadOnlyMemory<byte>>();
            if (_sendsEnded || _pending.Count >= _hub.Options.SendQueueLength)
            {
                return false;
            }

            _pending.Enqueue(message);
            if (_writing)
            {
                return true;
            }

            _writing = true;
            _writer = Task.Run(WriteQueued);
        }

        return true;
    }

    /// <summary>No more sends: what is queued is still written; the writer to wait for, if one runs.</summary>
    private Task EndSends()
    {
        lock (_sendLock)
        {
            _sendsEnded = true;
            return _writing ? _writer : Task.CompletedTask;
        }
    }

    private void Dequeued(int length)
    {
        Interlocked.Add(ref _queuedBytes, -length);
        _hub.Budget.Give(length, _share);
    }

    public List<ReadOnlyMemory<byte>> TakeUndelivered()
    {
        List<ReadOnlyMemory<byte>> taken = _socket is Polling.PollingSocket polling ? polling.TakeUnpolled() : [];
        lock (_sendLock)
        {
            while (_pending is not null && _pending.TryDequeue(out ReadOnlyMemory<byte> message))
            {
                Dequeued(message.Length);
                taken.Add(message);
            }
        }

        return taken;
    }

    /// <summary>
    /// Writes what is queued, then ends: the next message queued starts it again. It stops writing
    /// once the socket is no longer open, and a write that fails ends sends for good, handing what
    /// was never written back to the budget.
    /// </summary>
    private async Task WriteQueued()
    {
        while (true)
        {
            ReadOnlyMemory<byte> message;
            lock (_sendLock)
            {
                if (_pending!.Count == 0)
                {
                    // The finished task is not kept: an idle connection holds no writer.
                    _writing = false;
                    _writer = Task.CompletedTask;
                    return;
                }

                message = _pending.Dequeue();
            }

            try
            {
                if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException)
            {
                lock (_sendLock)
                {
                    _sendsEnded = true;
                    _writing = false;
                    _writer = Task.CompletedTask;
                    while (_pending!.TryDequeue(out ReadOnlyMemory<byte> left))
                    {
                        Dequeued(left.Length);
                    }
                }

                return;
            }
            finally
            {
                Dequeued(message.Length);
            }
        }
    }
}
