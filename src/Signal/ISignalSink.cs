namespace Turn.Signal;

/// <summary>Where messages for one connected peer go: its connection's bounded send queue.</summary>
internal interface ISignalSink
{
    /// <summary>Queues a message; false when the queue is full (the connection is then closed as too slow).</summary>
    bool TrySend(ReadOnlyMemory<byte> utf8Json);

    /// <summary>Closes the connection, with a reason for the log and the close frame.</summary>
    void Close(string reason);
}
