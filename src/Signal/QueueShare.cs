namespace Turn.Signal;

/// <summary>The bytes one client address has queued (its connections' send queues and its away seats).</summary>
internal sealed class QueueShare
{
    public long Bytes;
}
