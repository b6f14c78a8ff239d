namespace Turn.Signal;

/// <summary>
/// Bytes queued by signaling across the daemon: messages waiting in send queues and kept for
/// away peers. Taking past the limit fails, so memory stays bounded whatever clients do; one
/// shared buffer sent to many counts once per recipient, which overstates and never understates.
/// </summary>
internal sealed class QueueBudget(Func<long> limit)
{
    private long _used;

    public long Used => Interlocked.Read(ref _used);

    public bool TryTake(int bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= limit())
        {
            return true;
        }

        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    /// <summary>Takes whatever the limit: for the one message a connection with nothing queued may always have.</summary>
    public void Take(int bytes) => Interlocked.Add(ref _used, bytes);

    public void Give(int bytes) => Interlocked.Add(ref _used, -bytes);
}
