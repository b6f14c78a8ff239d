namespace Turn.Server;

/// <summary>What became of one packet; the transport counts these.</summary>
internal enum Outcome
{
    /// <summary>A success response was written.</summary>
    Answered,

    /// <summary>An error response was written.</summary>
    Rejected,

    /// <summary>An indication or a response from a client: nothing to send.</summary>
    Ignored,

    /// <summary>Too short, or its length field disagrees with what arrived.</summary>
    DroppedTruncated,

    /// <summary>Not STUN, not ChannelData.</summary>
    DroppedNotStun,

    /// <summary>Bad length, a broken attribute layout or a bad fingerprint.</summary>
    DroppedMalformed,

    /// <summary>Data relayed to a peer (Send indication or ChannelData).</summary>
    Relayed,

    /// <summary>Data or ChannelData on a five-tuple that holds no allocation.</summary>
    DroppedNoAllocation,

    /// <summary>Data for a peer with no permission, or a channel not bound.</summary>
    DroppedNoPermission,

    /// <summary>Data for a peer the policy denies.</summary>
    DroppedDeniedPeer,

    /// <summary>Data over the allocation's bandwidth cap.</summary>
    DroppedQuota,

    /// <summary>The relay socket could not send (unreachable network, full buffer).</summary>
    DroppedSendFailed,

    /// <summary>A request from a source that spent its budget of unauthenticated answers: not answered.</summary>
    DroppedRateLimited,

    /// <summary>A peer datagram larger than the client's transport can carry in one frame: dropped whole, never cut.</summary>
    DroppedTooBig,
}
