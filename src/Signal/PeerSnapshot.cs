namespace Turn.Signal;

/// <summary>A peer as the operator API shows it: no resume token, no metadata.</summary>
public sealed record PeerSnapshot(string Id, string? Name, bool Connected);
