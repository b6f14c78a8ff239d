namespace Turn.Signal;

/// <summary>A named set of peers. Every change and every lookup holds the room's lock.</summary>
internal sealed class Room(string name)
{
    public string Name { get; } = name;

    /// <summary>The client address of the first peer seated: the room counts against it while it exists; null before.</summary>
    public UInt128? Creator { get; set; }

    public Lock Sync { get; } = new();

    public Dictionary<string, Peer> Peers { get; } = new(StringComparer.Ordinal);

    /// <summary>Members seated on other daemons (rooms across daemons); empty otherwise.</summary>
    public Dictionary<string, RemotePeer> Remote { get; } = new(StringComparer.Ordinal);

    /// <summary>While this daemon follows the room's events on the backplane: the start of it (true once it holds), shared by the joins that wait on it; null otherwise.</summary>
    public Task<bool>? Following { get; set; }

    /// <summary>The subscription that hands the room's events to the hub, once it holds.</summary>
    public StackExchange.Redis.ChannelMessageQueue? Events { get; set; }

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

/// <summary>A member of a room seated on another daemon: what its room mates are told of it.</summary>
internal sealed record RemotePeer(string Id, string? Name, byte[]? Meta, string Node);
