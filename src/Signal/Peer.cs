namespace Turn.Signal;

/// <summary>
/// One member of a room. While its connection is gone it keeps its id and seat for the resume
/// grace window, and what is addressed to it waits in a queue bounded in messages and bytes.
/// Every member of a room is changed only under the room's lock.
/// </summary>
internal sealed class Peer(string id, string resumeToken, Room room, string? name, byte[]? meta, UInt128 source, QueueShare share)
{
    // Only a peer that has been away has a queue.
    private Queue<ReadOnlyMemory<byte>>? _pending;
    private int _pendingBytes;

    public string Id { get; } = id;

    public string ResumeToken { get; } = resumeToken;

    public Room Room { get; } = room;

    public string? Name { get; } = name;

    /// <summary>The client's metadata object as raw JSON, or null.</summary>
    public byte[]? Meta { get; } = meta;

    /// <summary>The client address the seat counts against, for as long as it is held.</summary>
    public UInt128 Source { get; } = source;

    /// <summary>What that address has queued: messages kept for this seat count there.</summary>
    public QueueShare Share { get; } = share;

    /// <summary>The live connection; null while away.</summary>
    public ISignalSink? Sink { get; private set; }

    /// <summary>When the connection went away (monotonic ms), or 0 while connected.</summary>
    public long AwaySince { get; private set; }

    public bool HasLeft { get; set; }

    public int PendingCount => _pending?.Count ?? 0;

    /// <summary>
    /// Delivers now, or keeps the message for a resume, dropping the oldest past the queue's
    /// length or bytes, or the new one when the daemon's or the address's budget is spent. False
    /// when the message was not queued (a connection over its own limit closes itself).
    /// </summary>
    public bool Deliver(ReadOnlyMemory<byte> message, SignalOptions options, QueueBudget budget)
    {
        ISignalSink? sink = Sink;
        if (sink is not null)
        {
            return sink.TrySend(message);
        }

        if (message.Length > options.ResumeQueueBytes || !budget.TryTake(message.Length, Share))
        {
            return false;
        }

        _pending ??= new Queue<ReadOnlyMemory<byte>>();
        _pending.Enqueue(message);
        _pendingBytes += message.Length;
        while (_pending.Count > options.ResumeQueueLength || _pendingBytes > options.ResumeQueueBytes)
        {
            Forget(_pending.Dequeue(), budget);
        }

        return true;
    }

    public void Attach(ISignalSink sink)
    {
        Sink = sink;
        AwaySince = 0;
    }

    public void Detach(long nowMs)
    {
        Sink = null;
        AwaySince = Math.Max(1, nowMs);
    }

    /// <summary>Hands the messages kept while away to the new connection, in order (what it cannot take is lost).</summary>
    public void Flush(QueueBudget budget)
    {
        while (Sink is not null && _pending is not null && _pending.TryDequeue(out ReadOnlyMemory<byte> message))
        {
            Forget(message, budget);
            Sink.TrySend(message);
        }
    }

    /// <summary>What the queue held, in order, given back to the budget: the seat moved to another daemon, which delivers it.</summary>
    public List<ReadOnlyMemory<byte>> TakePending(QueueBudget budget)
    {
        var taken = new List<ReadOnlyMemory<byte>>();
        while (_pending is not null && _pending.TryDequeue(out ReadOnlyMemory<byte> message))
        {
            Forget(message, budget);
            taken.Add(message);
        }

        return taken;
    }

    /// <summary>Gives back what the queue held: the seat is gone.</summary>
    public void Clear(QueueBudget budget)
    {
        while (_pending is not null && _pending.TryDequeue(out ReadOnlyMemory<byte> message))
        {
            Forget(message, budget);
        }
    }

    private void Forget(ReadOnlyMemory<byte> message, QueueBudget budget)
    {
        _pendingBytes -= message.Length;
        budget.Give(message.Length, Share);
    }
}
