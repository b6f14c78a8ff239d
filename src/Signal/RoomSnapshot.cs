namespace Turn.Signal;

/// <summary>A room as the operator API shows it.</summary>
public sealed record RoomSnapshot(string Room, IReadOnlyList<PeerSnapshot> Peers);
