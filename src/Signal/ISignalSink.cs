namespace Turn.Signal;

/// <summary>Where messages for one connected peer go: its connection's bounded send queue.</summary>
internal interface ISignalSink
{
    /// <summary>
    /// Queues a message; false when it was not queued: dropped because the daemon's or the address's
    /// budget is spent, or because the connection is over its own limit, in which case it has closed
    /// itself as too slow.
    /// </summary>
    bool TrySend(ReadOnlyMemory<byte> utf8Json);

    /// <summary>Closes the connection, with a reason for the log and the close frame.</summary>
    void Close(string reason);

    /// <summary>
    /// Takes back, in order, what was queued for the client and has not reached the network (for
    /// the HTTP fallback: not yet taken by a poll), so that a resume elsewhere delivers it.
    /// </summary>
    List<ReadOnlyMemory<byte>> TakeUndelivered();
}
