namespace Turn.Signal;

/// <summary>
/// Bytes queued by signaling: messages waiting in send queues and kept for away peers, across
/// the daemon and per client address. Taking past either limit fails, so memory stays bounded
/// whatever clients do, and one address cannot spend what the others need. One shared buffer sent
/// to many counts once per recipient, which overstates and never understates.
/// </summary>
internal sealed class QueueBudget(Func<SignalOptions> options)
{
    private long _used;

    public long Used => Interlocked.Read(ref _used);

    /// <summary>Takes <paramref name="bytes"/> from the daemon's budget and the address's share; false (nothing taken) past either.</summary>
    public bool TryTake(int bytes, QueueShare share)
    {
        SignalOptions limits = options();
        if (Interlocked.Add(ref share.Bytes, bytes) > limits.MaxQueuedBytesPerAddress)
        {
            Interlocked.Add(ref share.Bytes, -bytes);
            return false;
        }

        if (Interlocked.Add(ref _used, bytes) > limits.MaxQueuedBytes)
        {
            Interlocked.Add(ref _used, -bytes);
            Interlocked.Add(ref share.Bytes, -bytes);
            return false;
        }

        return true;
    }

    /// <summary>Takes whatever the limits: for the one message a connection with nothing queued may always have.</summary>
    public void Take(int bytes, QueueShare share)
    {
        Interlocked.Add(ref share.Bytes, bytes);
        Interlocked.Add(ref _used, bytes);
    }

    public void Give(int bytes, QueueShare share)
    {
        Interlocked.Add(ref share.Bytes, -bytes);
        Interlocked.Add(ref _used, -bytes);
    }
}
