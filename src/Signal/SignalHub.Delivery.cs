namespace Turn.Signal;

/// <summary>Messages to one peer, to a room, and pushed by the HTTP API.</summary>
public sealed partial class SignalHub
{
    /// <summary>
    /// Delivers to one peer of the sender's room, when <paramref name="owner"/> still holds the
    /// sender's seat (checked under the room's lock).
    /// </summary>
    internal Delivery SendTo(Peer from, string to, ReadOnlyMemory<byte> message, ISignalSink owner)
    {
        Peer? target;
        lock (from.Room.Sync)
        {
            if (from.Sink != owner || from.HasLeft)
            {
                return Delivery.NotOwner;
            }

            if (!from.Room.Peers.TryGetValue(to, out target))
            {
                if (_link is null || !from.Room.Remote.ContainsKey(to))
                {
                    return Delivery.UnknownPeer;
                }
            }
            else if (target == from)
            {
                return Delivery.UnknownPeer;
            }
            else
            {
                target.Deliver(message, _options, Budget);
                return Delivery.Delivered;
            }
        }

        // A member on another daemon: that daemon delivers it.
        _link!.SendTo(from.Room, to, message);
        return Delivery.Delivered;
    }

    /// <summary>
    /// Delivers to every peer of the room but the sender (null sender: everyone); returns how many,
    /// or -1 when <paramref name="owner"/> no longer holds the sender's seat.
    /// </summary>
    /// <param name="relay">Whether members on other daemons get it too (what peers and the server send; not the notices each daemon writes itself).</param>
    internal int Broadcast(Peer? from, ReadOnlyMemory<byte> message, Room? room = null, ISignalSink? owner = null, bool relay = false)
    {
        room ??= from!.Room;
        SignalOptions options = _options;
        int delivered = 0;
        lock (room.Sync)
        {
            if (owner is not null && (from!.Sink != owner || from.HasLeft))
            {
                return -1;
            }

            foreach (Peer peer in room.Peers.Values)
            {
                if (peer != from && peer.Deliver(message, options, Budget))
                {
                    delivered++;
                }
            }

            relay &= _link is not null && room.Events is not null;
        }

        if (relay)
        {
            _link!.Broadcast(room, from?.Id ?? "server", message);
        }

        return delivered;
    }

    /// <summary>
    /// Server push: a message from "server" to every peer of a room; how many peers of this daemon
    /// got it, or -1 when the room does not exist. With rooms across daemons the members on the
    /// others get it too, also when none is here (then 0).
    /// </summary>
    public int Push(string roomName, ReadOnlySpan<byte> rawJson)
    {
        if (!_rooms.TryGetValue(roomName, out Room? room))
        {
            return -1;
        }

        return Broadcast(null, SignalMessages.Relayed("broadcast", "server", rawJson), room, relay: true);
    }

    /// <summary>The same, asking the other daemons (Signal:Redis) whether the room exists when this one has no member there.</summary>
    public async ValueTask<int> PushAsync(string roomName, ReadOnlyMemory<byte> rawJson)
    {
        int delivered = Push(roomName, rawJson.Span);
        if (delivered >= 0 || _link is null)
        {
            return delivered;
        }

        return await _link.PushElsewhere(roomName, SignalMessages.Relayed("broadcast", "server", rawJson.Span)).ConfigureAwait(false) ? 0 : -1;
    }
}
