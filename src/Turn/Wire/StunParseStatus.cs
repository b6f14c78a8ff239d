namespace Turn.Wire;

/// <summary>Why a datagram or frame was not accepted as a STUN message. The codec never throws on wire input.</summary>
internal enum StunParseStatus
{
    Ok,

    /// <summary>Shorter than the header, or than the length the header announces.</summary>
    Truncated,

    /// <summary>The first two bits are not zero: ChannelData or something else entirely.</summary>
    NotStun,

    /// <summary>The header's length is not a multiple of four or disagrees with what arrived.</summary>
    BadLength,

    /// <summary>An attribute overruns the message, or an integrity or fingerprint attribute has the wrong size or place.</summary>
    MalformedAttribute,

    /// <summary>FINGERPRINT is present and does not match (RFC 8489 §14.7).</summary>
    BadFingerprint,
}
