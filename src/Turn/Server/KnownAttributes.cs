using Turn.Wire;

namespace Turn.Server;

/// <summary>The comprehension-required attributes this server understands (RFC 8489 §6.3.1 turns the rest into 420).</summary>
internal static class KnownAttributes
{
    /// <summary>Without an RFC 5780 grid, CHANGE-REQUEST, RESPONSE-PORT and PADDING are not understood.</summary>
    public static readonly Func<ushort, bool> Basic = static type => IsKnown(type, natBehavior: false);

    public static readonly Func<ushort, bool> WithNatBehavior = static type => IsKnown(type, natBehavior: true);

    public static bool IsKnown(ushort type, bool natBehavior) => (StunAttributeType)type switch
    {
        StunAttributeType.ChangeRequest or StunAttributeType.ResponsePort or StunAttributeType.Padding => natBehavior,
        StunAttributeType.MappedAddress or StunAttributeType.ResponseAddress or StunAttributeType.SourceAddress
            or StunAttributeType.ChangedAddress or StunAttributeType.Username or StunAttributeType.MessageIntegrity
            or StunAttributeType.ErrorCode or StunAttributeType.UnknownAttributes or StunAttributeType.ChannelNumber
            or StunAttributeType.Lifetime or StunAttributeType.XorPeerAddress or StunAttributeType.Data
            or StunAttributeType.Realm or StunAttributeType.Nonce or StunAttributeType.XorRelayedAddress
            or StunAttributeType.RequestedAddressFamily or StunAttributeType.EvenPort
            or StunAttributeType.RequestedTransport or StunAttributeType.DontFragment
            or StunAttributeType.MessageIntegritySha256 or StunAttributeType.PasswordAlgorithm
            or StunAttributeType.UserHash or StunAttributeType.XorMappedAddress
            or StunAttributeType.ReservationToken or StunAttributeType.ConnectionId => true,
        _ => false,
    };
}
