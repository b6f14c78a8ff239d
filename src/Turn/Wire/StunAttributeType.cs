namespace Turn.Wire;

/// <summary>
/// Attribute types from IANA's "STUN Attributes" registry. Values below 0x8000 are
/// comprehension-required, the rest comprehension-optional (RFC 8489 §14).
/// </summary>
internal enum StunAttributeType : ushort
{
    /// <summary>RFC 8489 §14.1.</summary>
    MappedAddress = 0x0001,

    /// <summary>RFC 3489 §11.2.2, kept for classic clients.</summary>
    ResponseAddress = 0x0002,

    /// <summary>RFC 5780 §7.2.</summary>
    ChangeRequest = 0x0003,

    /// <summary>RFC 3489 §11.2.5, kept for classic clients.</summary>
    SourceAddress = 0x0004,

    /// <summary>RFC 3489 §11.2.3, kept for classic clients.</summary>
    ChangedAddress = 0x0005,

    /// <summary>RFC 8489 §14.3.</summary>
    Username = 0x0006,

    /// <summary>RFC 8489 §14.5.</summary>
    MessageIntegrity = 0x0008,

    /// <summary>RFC 8489 §14.8.</summary>
    ErrorCode = 0x0009,

    /// <summary>RFC 8489 §14.13.</summary>
    UnknownAttributes = 0x000A,

    /// <summary>RFC 8656 §18.1.</summary>
    ChannelNumber = 0x000C,

    /// <summary>RFC 8656 §18.2.</summary>
    Lifetime = 0x000D,

    /// <summary>RFC 8656 §18.3.</summary>
    XorPeerAddress = 0x0012,

    /// <summary>RFC 8656 §18.4.</summary>
    Data = 0x0013,

    /// <summary>RFC 8489 §14.9.</summary>
    Realm = 0x0014,

    /// <summary>RFC 8489 §14.10.</summary>
    Nonce = 0x0015,

    /// <summary>RFC 8656 §18.5.</summary>
    XorRelayedAddress = 0x0016,

    /// <summary>RFC 8656 §18.6.</summary>
    RequestedAddressFamily = 0x0017,

    /// <summary>RFC 8656 §18.7.</summary>
    EvenPort = 0x0018,

    /// <summary>RFC 8656 §18.8.</summary>
    RequestedTransport = 0x0019,

    /// <summary>RFC 8656 §18.9.</summary>
    DontFragment = 0x001A,

    /// <summary>RFC 8489 §14.6.</summary>
    MessageIntegritySha256 = 0x001C,

    /// <summary>RFC 8489 §14.12.</summary>
    PasswordAlgorithm = 0x001D,

    /// <summary>RFC 8489 §14.4.</summary>
    UserHash = 0x001E,

    /// <summary>RFC 8489 §14.2.</summary>
    XorMappedAddress = 0x0020,

    /// <summary>RFC 8656 §18.10.</summary>
    ReservationToken = 0x0022,

    /// <summary>RFC 5780 §7.6.</summary>
    Padding = 0x0026,

    /// <summary>RFC 5780 §7.5.</summary>
    ResponsePort = 0x0027,

    /// <summary>RFC 6062 §6.2.1.</summary>
    ConnectionId = 0x002A,

    /// <summary>RFC 8656 §18.11.</summary>
    AdditionalAddressFamily = 0x8000,

    /// <summary>RFC 8656 §18.12.</summary>
    AddressErrorCode = 0x8001,

    /// <summary>ADDITIONAL-ADDRESS-FAMILY under the codepoint of draft-ietf-tram-turn-ipv6, which coturn's clients still send.</summary>
    AdditionalAddressFamilyDraft = 0x8032,

    /// <summary>RFC 8489 §14.11.</summary>
    PasswordAlgorithms = 0x8002,

    /// <summary>RFC 8489 §14.16.</summary>
    AlternateDomain = 0x8003,

    /// <summary>RFC 8656 §18.13.</summary>
    Icmp = 0x8004,

    /// <summary>RFC 8489 §14.14.</summary>
    Software = 0x8022,

    /// <summary>RFC 8489 §14.15.</summary>
    AlternateServer = 0x8023,

    /// <summary>RFC 5780 §7.3.</summary>
    ResponseOrigin = 0x802B,

    /// <summary>RFC 5780 §7.4.</summary>
    OtherAddress = 0x802C,

    /// <summary>RFC 8489 §14.7.</summary>
    Fingerprint = 0x8028,
}
