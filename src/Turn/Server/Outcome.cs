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
}
