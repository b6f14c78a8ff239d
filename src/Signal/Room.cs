namespace Turn.Signal;

/// <summary>A named set of peers. Every change and every lookup holds the room's lock.</summary>
internal sealed class Room(string name)
{
    public string Name { get; } = name;

    public Lock Sync { get; } = new();

    public Dictionary<string, Peer> Peers { get; } = new(StringComparer.Ordinal);
}
