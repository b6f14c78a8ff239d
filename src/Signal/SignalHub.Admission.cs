namespace Turn.Signal;

/// <summary>Admission: connections in all and per address, and the credentials an address may mint.</summary>
public sealed partial class SignalHub
{
    /// <summary>Counts a signaling connection; false when the server holds <see cref="SignalOptions.MaxConnections"/>.</summary>
    internal bool TryOpenConnection()
    {
        if (Interlocked.Increment(ref _connections) <= _options.MaxConnections)
        {
            return true;
        }

        Interlocked.Decrement(ref _connections);
        return false;
    }

    internal void CloseConnection() => Interlocked.Decrement(ref _connections);

    /// <summary>
    /// Admits one connection from <paramref name="source"/>: a connection of the server's and one of
    /// the address's. When either is spent, false with the HTTP status and the text to answer;
    /// otherwise <see cref="Release"/> gives both back when the connection ends.
    /// </summary>
    internal bool TryAdmit(UInt128 source, out QueueShare share, out int status, out string? refusal)
    {
        SignalOptions options = _options;
        share = null!;
        if (!TryOpenConnection())
        {
            (status, refusal) = (503, $"This server has {options.MaxConnections} signaling connections open already.");
            return false;
        }

        if (!Sources.TryConnect(source, options, out share))
        {
            CloseConnection();
            (status, refusal) = (429, $"This address has {options.MaxConnectionsPerAddress} signaling connections open already.");
            return false;
        }

        (status, refusal) = (101, null);
        return true;
    }

    /// <summary>Gives back what <see cref="TryAdmit"/> took.</summary>
    internal void Release(UInt128 source)
    {
        Sources.Disconnected(source);
        CloseConnection();
    }

    /// <summary>
    /// One set of TURN credentials for the address within Signal:CredentialsPerMinute; with
    /// Signal:Redis it is also counted for all daemons together, without waiting: once they have
    /// handed out the address's share, each refuses it until the rate allows again.
    /// </summary>
    internal bool TryMint(UInt128 source, SignalOptions options, long nowMs)
    {
        if (!Sources.TryMint(source, options, nowMs))
        {
            return false;
        }

        if (_link is not null)
        {
            _ = _link.TakeRate(joins: false, source, options, nowMs);
        }

        return true;
    }

    /// <summary>
    /// Fresh iceServers for a seat, written by <paramref name="write"/>, when <paramref name="owner"/>
    /// still holds it (judged under the room's lock, like every operation on a seat) and
    /// <paramref name="mint"/> allows one more set; null when it does not.
    /// </summary>
    internal byte[]? MintFor(Peer peer, ISignalSink owner, Func<bool> mint, Func<IReadOnlyList<IceServer>, byte[]> write, out bool owns)
    {
        lock (peer.Room.Sync)
        {
            owns = peer.Sink == owner && !peer.HasLeft;
            return owns && mint() ? write(_iceServers.GetIceServers(peer.Id)) : null;
        }
    }
}
