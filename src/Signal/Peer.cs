namespace Turn.Signal;

/// <summary>
/// One member of a room. While its connection is gone it keeps its id and seat for the resume
/// grace window, and what is addressed to it waits in a bounded queue.
/// </summary>
internal sealed class Peer(string id, string resumeToken, Room room, string? name, byte[]? meta)
{
    private readonly Queue<byte[]> _pending = new();

    public string Id { get; } = id;

    public string ResumeToken { get; } = resumeToken;

    public Room Room { get; } = room;

    public string? Name { get; } = name;

    /// <summary>The client's metadata object as raw JSON, or null.</summary>
    public byte[]? Meta { get; } = meta;

    /// <summary>The live connection; null while away.</summary>
    public ISignalSink? Sink { get; private set; }

    /// <summary>When the connection went away (monotonic ms), or 0 while connected.</summary>
    public long AwaySince { get; private set; }

    public bool HasLeft { get; set; }

    public int PendingCount => _pending.Count;

    /// <summary>Delivers now, or keeps the message for a resume; drops the oldest when the queue is full.</summary>
    public bool Deliver(byte[] message, int queueLength)
    {
        ISignalSink? sink = Sink;
        if (sink is not null)
        {
            if (sink.TrySend(message))
            {
                return true;
            }

            sink.Close("send queue full");
            return false;
        }

        if (_pending.Count >= queueLength)
        {
            _pending.Dequeue();
        }

        _pending.Enqueue(message);
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

    /// <summary>Hands the messages kept while away to the new connection, in order.</summary>
    public void Flush()
    {
        while (Sink is not null && _pending.TryDequeue(out byte[]? message))
        {
            if (!Sink.TrySend(message))
            {
                Sink.Close("send queue full");
                return;
            }
        }
    }
}
