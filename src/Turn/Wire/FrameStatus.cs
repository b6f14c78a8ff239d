namespace Turn.Wire;

/// <summary>What <see cref="StreamFraming"/> found at the start of a byte stream.</summary>
internal enum FrameStatus
{
    /// <summary>A whole frame is there; its length was returned.</summary>
    Complete,

    /// <summary>Not enough bytes yet to know or hold the frame.</summary>
    NeedMore,

    /// <summary>The stream does not carry STUN or ChannelData; the connection should be closed.</summary>
    Invalid,
}
