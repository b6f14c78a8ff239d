namespace Turn.Signal;

/// <summary>A named set of peers. Every change and every lookup holds the room's lock.</summary>
internal sealed class Room(string name)
{
    public string Name { get; } = name;

    /// <summary>The client address of the first peer seated: the room counts against it while it exists; null before.</summary>
    public UInt128? Creator { get; set; }

    public Lock Sync { get; } = new();

    public Dictionary<string, Peer> Peers { get; } = new(StringComparer.Ordinal);

    /// <summary>Seats of the room held by one address.</summary>
    public int SeatsOf(UInt128 source)
    {
        int seats = 0;
        foreach (Peer peer in Peers.Values)
        {
            if (peer.Source == source)
            {
                seats++;
            }
        }

        return seats;
    }
}
