namespace Turn.Wire;

/// <summary>What the first byte says a packet on a STUN/TURN port is (RFC 8656 §12, RFC 7983 §7).</summary>
internal enum PacketKind
{
    Unknown,
    Stun,
    ChannelData,
}
