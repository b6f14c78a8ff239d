namespace Turn.Signal;

/// <summary>
/// What one client address holds and how fast it asks: open connections, seats (connected or
/// away), rooms it created that still exist, joins per second and TURN credentials per minute.
/// Budgets are per address, not per connection, so that one address cannot fill the rooms, the
/// seats or the memory by opening more connections. Holdings are exact (one lock, taken on
/// connect, join and leave, never per message); rates are token buckets per address, forgotten
/// once full again.
/// </summary>
internal sealed class SourceLimits
{
    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, Holding> _held = [];
    private readonly Dictionary<UInt128, Bucket> _joins = [];
    private readonly Dictionary<UInt128, Bucket> _credentials = [];

    /// <summary>Addresses with anything held or any rate in use, for the sweep's housekeeping.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _held.Count + _joins.Count + _credentials.Count;
            }
        }
    }

    /// <summary>Counts a connection of the address; false past its share. <paramref name="share"/> is what it has queued.</summary>
    public bool TryConnect(UInt128 source, SignalOptions options, out QueueShare share)
    {
        lock (_lock)
        {
            Holding held = Get(source);
            share = held.Share;
            if (held.Connections >= options.MaxConnectionsPerAddress)
            {
                Drop(source, held);
                return false;
            }

            held.Connections++;
            return true;
        }
    }

    public void Disconnected(UInt128 source) => Give(source, static h => h.Connections--);

    /// <summary>
    /// Takes a seat for the address: false with the limit that refused it when it holds its share of
    /// seats, of that room's seats, or (for a room it would create) of rooms.
    /// </summary>
    public bool TryTakeSeat(UInt128 source, SignalOptions options, int seatsInRoom, bool createsRoom, out string limit)
    {
        lock (_lock)
        {
            Holding held = Get(source);
            limit = held.Seats >= options.MaxPeersPerAddress ? $"this address holds {options.MaxPeersPerAddress} seats already"
                : seatsInRoom >= options.MaxPeersPerRoomPerAddress ? $"this address holds {options.MaxPeersPerRoomPerAddress} seats of this room already"
                : createsRoom && held.Rooms >= options.MaxRoomsPerAddress ? $"this address created {options.MaxRoomsPerAddress} rooms that still exist"
                : "";
            if (limit.Length > 0)
            {
                Drop(source, held);
                return false;
            }

            held.Seats++;
            if (createsRoom)
            {
                held.Rooms++;
            }

            return true;
        }
    }

    public void SeatGiven(UInt128 source) => Give(source, static h => h.Seats--);

    public void RoomGone(UInt128 creator) => Give(creator, static h => h.Rooms--);

    /// <summary>One join (or resume) of the address: false past <see cref="SignalOptions.JoinsPerSecond"/>, with bursts of four times that.</summary>
    public bool TryJoin(UInt128 source, SignalOptions options, long nowMs)
        => options.JoinsPerSecond <= 0 || Take(_joins, source, options.JoinsPerSecond * 4.0, options.JoinsPerSecond / 1000.0, nowMs);

    /// <summary>One set of TURN credentials for the address: false past <see cref="SignalOptions.CredentialsPerMinute"/>.</summary>
    public bool TryMint(UInt128 source, SignalOptions options, long nowMs)
        => options.CredentialsPerMinute <= 0 || Take(_credentials, source, options.CredentialsPerMinute, options.CredentialsPerMinute / 60_000.0, nowMs);

    /// <summary>
    /// Empties the address's joins or credentials bucket: the daemons together refused it
    /// (Signal:Redis), so asks here wait for the bucket to refill as well.
    /// </summary>
    public void Drain(bool joins, UInt128 source, long nowMs)
    {
        lock (_lock)
        {
            Dictionary<UInt128, Bucket> buckets = joins ? _joins : _credentials;
            buckets[source] = new Bucket { Tokens = 0, RefilledMs = nowMs };
        }
    }

    /// <summary>Forgets rate buckets that are full again, so idle addresses cost nothing.</summary>
    public void Sweep(long nowMs, SignalOptions options)
    {
        lock (_lock)
        {
            Forget(_joins, options.JoinsPerSecond * 4.0, options.JoinsPerSecond / 1000.0, nowMs);
            Forget(_credentials, options.CredentialsPerMinute, options.CredentialsPerMinute / 60_000.0, nowMs);
        }
    }

    private void Give(UInt128 source, Action<Holding> give)
    {
        lock (_lock)
        {
            if (_held.TryGetValue(source, out Holding? held))
            {
                give(held);
                Drop(source, held);
            }
        }
    }

    private Holding Get(UInt128 source)
    {
        if (!_held.TryGetValue(source, out Holding? held))
        {
            held = new Holding();
            _held[source] = held;
        }

        return held;
    }

    private void Drop(UInt128 source, Holding held)
    {
        if (held.Connections <= 0 && held.Seats <= 0 && held.Rooms <= 0)
        {
            _held.Remove(source);
        }
    }

    private bool Take(Dictionary<UInt128, Bucket> buckets, UInt128 source, double capacity, double perMs, long nowMs)
    {
        lock (_lock)
        {
            if (!buckets.TryGetValue(source, out Bucket? bucket))
            {
                bucket = new Bucket { Tokens = capacity, RefilledMs = nowMs };
                buckets[source] = bucket;
            }

            bucket.Tokens = Math.Min(capacity, bucket.Tokens + (Math.Max(0, nowMs - bucket.RefilledMs) * perMs));
            bucket.RefilledMs = nowMs;
            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens--;
            return true;
        }
    }

    private static void Forget(Dictionary<UInt128, Bucket> buckets, double capacity, double perMs, long nowMs)
    {
        foreach ((UInt128 source, Bucket bucket) in buckets)
        {
            if (bucket.Tokens + (Math.Max(0, nowMs - bucket.RefilledMs) * perMs) >= capacity)
            {
                buckets.Remove(source);
            }
        }
    }

    private sealed class Holding
    {
        public int Connections;
        public int Seats;
        public int Rooms;

        /// <summary>Kept while the address holds a connection or a seat, whose queues count here.</summary>
        public QueueShare Share { get; } = new();
    }

    private sealed class Bucket
    {
        public double Tokens;
        public long RefilledMs;
    }
}
