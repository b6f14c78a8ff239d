namespace Turn.Relay;

/// <summary>Carries relayed data back to one client over the transport its allocation was made on.</summary>
internal interface IClientSender
{
    /// <summary>Sends or queues one packet; false when it was dropped (full queue, closed connection, socket error).</summary>
    bool Send(ReadOnlySpan<byte> packet);
}
