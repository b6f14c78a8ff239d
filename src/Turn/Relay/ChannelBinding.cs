using Turn.Wire;

namespace Turn.Relay;

/// <summary>RFC 8656 §12: a channel number bound to one peer transport address, until it expires.</summary>
internal struct ChannelBinding
{
    public ushort Channel;
    public StunAddress Peer;
    public long ExpiresAt;
}
