namespace Turn.Relay;

/// <summary>How a ChannelBind request went against the allocation's table (RFC 8656 §12.1).</summary>
internal enum ChannelBindResult
{
    Bound,

    /// <summary>The channel is bound to another peer, or the peer to another channel: 400.</summary>
    Conflict,

    /// <summary>The table is full: 508.</summary>
    NoCapacity,
}
