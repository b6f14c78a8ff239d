namespace Turn.Signal;

/// <summary>What became of a message addressed to one peer.</summary>
internal enum Delivery
{
    Delivered,

    /// <summary>No such peer in the sender's room, or the sender itself.</summary>
    UnknownPeer,

    /// <summary>The sending connection no longer holds its seat: another resumed it.</summary>
    NotOwner,
}
