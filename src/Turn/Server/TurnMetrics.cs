using System.Diagnostics;
using System.Diagnostics.Metrics;
using Turn.Auth;
using Turn.Relay;
using Turn.Wire;

namespace Turn.Server;

/// <summary>
/// The relay's instruments (meter "Turn"). Packet-rate counts are plain array slots bumped with
/// one interlocked add and read by observable instruments when a scrape asks, so counting a
/// packet costs no callback and allocates nothing; gauges (allocations, permissions, channels)
/// are read from the allocation table at scrape time. No label names a user, peer or room.
/// </summary>
internal sealed class TurnMetrics : IAllocationEvents, IDisposable
{
    public const string MeterName = "Turn";

    /// <summary>
    /// 16 longs (128 bytes) between the directions' counters and before the first: the array is
    /// only 8-byte aligned, so less could still put both on one 64-byte line.
    /// </summary>
    private const int DirectionStride = 16;

    private static readonly string[] TransportNames = MetricLabels.Of<TransportProtocol>();
    private static readonly string[] OutcomeNames = MetricLabels.Of<Outcome>("Dropped");
    private static readonly string[] DirectionNames = MetricLabels.Of<RelayDirection>();
    private static readonly int TransportCount = TransportNames.Length;
    private static readonly int DirectionCount = DirectionNames.Length;

    /// <summary>The methods counted by name, in <see cref="MethodIndex"/>'s order; any other is "other".</summary>
    private static readonly string[] MethodNames = [.. new[] { StunMethod.Binding, StunMethod.Allocate, StunMethod.Refresh, StunMethod.CreatePermission, StunMethod.ChannelBind }.Select(m => MetricLabels.Snake(m.ToString())), "other"];

    /// <summary>The response codes counted by number (0: success); any other is "other".</summary>
    private static readonly int[] Codes =
    [
        0, StunErrors.TryAlternate, StunErrors.BadRequest, StunErrors.Unauthorized, StunErrors.Forbidden, StunErrors.UnknownAttribute,
        StunErrors.AllocationMismatch, StunErrors.StaleNonce, StunErrors.AddressFamilyNotSupported, StunErrors.WrongCredentials,
        StunErrors.UnsupportedTransportProtocol, StunErrors.PeerAddressFamilyMismatch, StunErrors.ConnectionAlreadyExists,
        StunErrors.ConnectionTimeoutOrFailure, StunErrors.AllocationQuotaReached, StunErrors.ServerError, StunErrors.InsufficientCapacity,
    ];
    private static readonly string[] CodeNames = [.. Codes.Select(c => c == 0 ? "success" : c.ToString(System.Globalization.CultureInfo.InvariantCulture)), "other"];

    /// <summary>The outcomes that are drops (named Dropped...), and where each one's count is.</summary>
    private static readonly Outcome[] Drops = [.. Enum.GetValues<Outcome>().Where(o => o.ToString().StartsWith("Dropped", StringComparison.Ordinal))];
    private static readonly string[] DropNames = [.. Drops.Select(o => OutcomeNames[(int)o])];
    private static readonly int[] DropIndexes = [.. Enum.GetValues<Outcome>().Select(o => Array.IndexOf(Drops, o))];
    private static readonly string[] RefusalNames = MetricLabels.Of<AllocateRefusal>();
    private static readonly string[] AuthFailureNames = MetricLabels.Of<AuthFailure>();
    private static readonly string[] EndNames = MetricLabels.Of<AllocationEnd>();
    private static readonly string[] ConnectionResults = MetricLabels.Of<ConnectionResult>();
    private static readonly string[] FamilyNames = ["ipv4", "ipv6"];

    /// <summary>Why an Allocate was refused (turn_allocations_refused_total's reason).</summary>
    internal enum AllocateRefusal
    {
        BadRequest,
        AuthFailed,
        Forbidden,
        Draining,
        AllocationMismatch,
        UnsupportedTransport,
        FamilyNotSupported,
        UserQuota,
        Capacity,
        UnknownAttribute,
        Other,
        AddressQuota,
    }

    /// <summary>Why credentials failed (turn_auth_failures_total's reason).</summary>
    internal enum AuthFailure
    {
        BadRequest,
        Unauthorized,
        StaleNonce,
        WrongCredentials,
    }

    /// <summary>What became of a TCP or TLS connection (turn_stream_connections_total's result).</summary>
    internal enum ConnectionResult
    {
        Accepted,
        Refused,
        AddressCap,
    }

    private readonly Meter _meter;
    private readonly long[] _packets = new long[TransportCount * OutcomeNames.Length];
    private readonly long[] _requests = new long[MethodNames.Length * CodeNames.Length];
    private readonly long[] _bindings = new long[TransportCount];

    /// <summary>
    /// Packets and bytes relayed, side by side per transport, each direction on lines of its own:
    /// the listener threads count toward the peer while the relay sockets' loops count toward
    /// the client, and they must not share a line.
    /// </summary>
    private readonly long[] _relayed = new long[(DirectionCount + 1) * DirectionStride];
    private readonly long[] _dropped = new long[DropNames.Length];
    private readonly long[] _refused = new long[RefusalNames.Length];
    private readonly long[] _authFailures = new long[AuthFailureNames.Length];
    private readonly long[] _created = new long[TransportCount];
    private readonly long[] _ended = new long[EndNames.Length];
    private readonly long[] _errors = new long[TransportCount];
    private readonly long[] _connections = new long[TransportCount * ConnectionResults.Length];
    private readonly Histogram<double> _requestSeconds;
    private readonly Histogram<double> _lifetimeSeconds;
    private readonly KeyValuePair<string, object?>[] _methodTags;
    private long _icmpReported;
    private long _rateLimited;
    private AllocationTable? _allocations;

    public TurnMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _methodTags = [.. MethodNames.Select(m => new KeyValuePair<string, object?>("method", m))];
        _meter.CreateObservableCounter("turn_stun_packets_total", () => Grid(_packets, "transport", TransportNames, "outcome", OutcomeNames), description: "Packets received on the listening sockets, by transport and what became of them.");
        _meter.CreateObservableCounter("turn_requests_total", () => Grid(_requests, "method", MethodNames, "code", CodeNames), description: "STUN/TURN requests answered, by method and response code (success or the error code).");
        _meter.CreateObservableCounter("turn_binding_requests_total", () => Row(_bindings, "transport", TransportNames), description: "STUN Binding requests, by transport.");
        _meter.CreateObservableCounter("turn_relayed_packets_total", () => Grid(Relayed(0), "direction", DirectionNames, "transport", TransportNames), description: "Packets relayed, by direction and the client's transport.");
        _meter.CreateObservableCounter("turn_relayed_bytes_total", () => Grid(Relayed(1), "direction", DirectionNames, "transport", TransportNames), unit: "bytes", description: "Application bytes relayed, by direction and the client's transport.");
        _meter.CreateObservableCounter("turn_dropped_packets_total", () => Row(_dropped, "reason", DropNames), description: "Packets dropped, by reason: truncated, not_stun or malformed input, no_allocation, no_permission, denied_peer, quota (bandwidth cap), send_failed, rate_limited (failing unauthenticated requests).");
        _meter.CreateObservableCounter("turn_allocations_created_total", () => Row(_created, "transport", TransportNames), description: "Allocations made, by the client's transport.");
        _meter.CreateObservableCounter("turn_allocations_ended_total", () => Row(_ended, "reason", EndNames), description: "Allocations ended, by reason.");
        _meter.CreateObservableCounter("turn_allocations_refused_total", () => Row(_refused, "reason", RefusalNames), description: "Allocate requests refused, by reason (the 401/438 challenge that starts every authentication is not a refusal).");
        _meter.CreateObservableCounter("turn_auth_failures_total", () => Row(_authFailures, "reason", AuthFailureNames), description: "Requests whose credentials failed, by reason.");
        _meter.CreateObservableCounter("turn_auth_rate_limited_total", () => Volatile.Read(ref _rateLimited), description: "Requests not answered because their source spent its budget of unauthenticated answers (Auth:UnauthenticatedBytesPerSecond).");
        _meter.CreateObservableCounter("turn_io_errors_total", () => Row(_errors, "transport", TransportNames), description: "Socket send or receive failures and handler faults, by transport.");
        _meter.CreateObservableCounter("turn_stream_connections_total", () => Grid(_connections, "transport", TransportNames, "result", ConnectionResults), description: "TCP and TLS connections, by transport and whether they were accepted, refused (Tcp:MaxConnections) or refused for their address (Tcp:MaxConnectionsPerAddress).");
        _meter.CreateObservableCounter("turn_relay_icmp_reported_total", () => Volatile.Read(ref _icmpReported), description: "ICMP errors about peers passed to clients as Data indications.");
        _meter.CreateObservableCounter("turn_process_exceptions_total", () => ExceptionCount.Value, description: "Exceptions thrown in the process, caught or not; none is expected on a normal path.");
        _meter.CreateObservableGauge("turn_gc_heap_bytes", static () => GC.GetTotalMemory(forceFullCollection: false), unit: "bytes", description: "Bytes the managed heap holds, garbage not yet collected included.");
        _meter.CreateObservableGauge("turn_gc_committed_bytes", static () => GC.GetGCMemoryInfo().TotalCommittedBytes, unit: "bytes", description: "Bytes the garbage collector had committed from the operating system at the last collection.");
        _meter.CreateObservableGauge("turn_allocations", ObserveAllocations, description: "Allocations active, by the client's transport and the relayed address family (a dual-stack allocation counts in both).");
        _meter.CreateObservableGauge("turn_permissions", () => Sum(static a => a.PermissionCount), description: "Permissions held by active allocations.");
        _meter.CreateObservableGauge("turn_channels", () => Sum(static a => a.ChannelCount), description: "Channel bindings held by active allocations.");
        _requestSeconds = _meter.CreateHistogram(
            "turn_request_duration_seconds",
            unit: "s",
            description: "Time to handle one STUN/TURN request, from parsing to the response written, by method.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1] });
        _lifetimeSeconds = _meter.CreateHistogram(
            "turn_allocation_lifetime_seconds",
            unit: "s",
            description: "How long allocations lasted, recorded when they end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400] });
    }

    /// <summary>The table whose allocations, permissions and channels the gauges report.</summary>
    public void Observe(AllocationTable allocations) => _allocations = allocations;

    /// <summary>
    /// Counts one packet a listener handled and, for a request, its method, answer and handling
    /// time (<paramref name="startTimestamp"/> from <see cref="Stopwatch.GetTimestamp"/>).
    /// </summary>
    public void CountPacket(TransportProtocol transport, in HandleResult result, long startTimestamp = 0)
    {
        Interlocked.Increment(ref _packets[((int)transport * OutcomeNames.Length) + (int)result.Outcome]);
        int drop = DropIndex(result.Outcome);
        if (drop >= 0)
        {
            Interlocked.Increment(ref _dropped[drop]);
            if (result.Outcome == Outcome.DroppedRateLimited)
            {
                Interlocked.Increment(ref _rateLimited);
            }
        }

        // A request dropped unanswered (a source over the unauthenticated rate cap) was not handled.
        if (result.Method == 0 || drop >= 0)
        {
            return;
        }

        int method = MethodIndex(result.Method);
        Interlocked.Increment(ref _requests[(method * CodeNames.Length) + CodeIndex(result.Code)]);
        if (startTimestamp != 0)
        {
            _requestSeconds.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, _methodTags[method]);
        }

        if (result.Method == StunMethod.Binding)
        {
            Interlocked.Increment(ref _bindings[(int)transport]);
        }

        AuthFailure? authFailure = result.Auth switch
        {
            AuthStatus.BadRequest => AuthFailure.BadRequest,
            AuthStatus.Unauthorized => AuthFailure.Unauthorized,
            AuthStatus.StaleNonce => AuthFailure.StaleNonce,
            _ => result.Code == StunErrors.WrongCredentials ? AuthFailure.WrongCredentials : null,
        };
        if (authFailure is { } failure)
        {
            Interlocked.Increment(ref _authFailures[(int)failure]);
        }

        if (result.Method == StunMethod.Allocate && result.Code != 0 && result.Auth is not (AuthStatus.Challenge or AuthStatus.StaleNonce))
        {
            Interlocked.Increment(ref _refused[(int)Refusal(result)]);
        }
    }

    /// <summary>Counts a drop on the relay path that no listener saw (a relay socket's).</summary>
    public void CountDrop(Outcome outcome)
    {
        int drop = DropIndex(outcome);
        if (drop >= 0)
        {
            Interlocked.Increment(ref _dropped[drop]);
        }
    }

    public void CountError(TransportProtocol transport) => Interlocked.Increment(ref _errors[(int)transport]);

    /// <summary>A TCP or TLS connection accepted, refused because the listener is full, or refused because its address holds its share (<paramref name="addressCap"/>).</summary>
    public void CountConnection(TransportProtocol transport, bool accepted, bool addressCap = false)
        => Interlocked.Increment(ref _connections[((int)transport * ConnectionResults.Length) + (int)(accepted ? ConnectionResult.Accepted : addressCap ? ConnectionResult.AddressCap : ConnectionResult.Refused)]);

    public void CountRelayed(RelayDirection direction, TransportProtocol transport, int bytes)
    {
        int slot = RelayedSlot((int)direction, (int)transport);
        Interlocked.Increment(ref _relayed[slot]);
        Interlocked.Add(ref _relayed[slot + 1], bytes);
    }

    public void CountIcmpReported() => Interlocked.Increment(ref _icmpReported);

    /// <summary>A datagram counted as relayed to a peer that the kernel then refused: moved to send_failed.</summary>
    public void RecountSendFailed(TransportProtocol transport, int bytes)
    {
        int slot = RelayedSlot((int)RelayDirection.ToPeer, (int)transport);
        Interlocked.Decrement(ref _relayed[slot]);
        Interlocked.Add(ref _relayed[slot + 1], -bytes);
        int row = (int)transport * OutcomeNames.Length;
        Interlocked.Decrement(ref _packets[row + (int)Outcome.Relayed]);
        Interlocked.Increment(ref _packets[row + (int)Outcome.DroppedSendFailed]);
        Interlocked.Increment(ref _dropped[DropIndex(Outcome.DroppedSendFailed)]);
    }

    public void Created(Allocation allocation) => Interlocked.Increment(ref _created[(int)allocation.FiveTuple.Protocol]);

    public void Ended(Allocation allocation, AllocationEnd reason, long nowMs)
    {
        Interlocked.Increment(ref _ended[(int)reason]);
        _lifetimeSeconds.Record(Math.Max(0, nowMs - allocation.CreatedAt) / 1000.0);
    }

    public void Dispose() => _meter.Dispose();

    private static int RelayedSlot(int direction, int transport) => ((direction + 1) * DirectionStride) + (transport * 2);

    /// <summary>Packets (<paramref name="field"/> 0) or bytes (1), as a direction-by-transport grid.</summary>
    private long[] Relayed(int field)
    {
        long[] grid = new long[DirectionCount * TransportCount];
        for (int d = 0; d < DirectionCount; d++)
        {
            for (int t = 0; t < TransportCount; t++)
            {
                grid[(d * TransportCount) + t] = Volatile.Read(ref _relayed[RelayedSlot(d, t) + field]);
            }
        }

        return grid;
    }

    private static int DropIndex(Outcome outcome) => DropIndexes[(int)outcome];

    private static int MethodIndex(StunMethod method) => method switch
    {
        StunMethod.Binding => 0,
        StunMethod.Allocate => 1,
        StunMethod.Refresh => 2,
        StunMethod.CreatePermission => 3,
        StunMethod.ChannelBind => 4,
        _ => 5,
    };

    private static int CodeIndex(int code)
    {
        int index = Array.IndexOf(Codes, code);
        return index >= 0 ? index : CodeNames.Length - 1;
    }

    private static AllocateRefusal Refusal(in HandleResult result) => result.Code switch
    {
        _ when result.Draining => AllocateRefusal.Draining,
        _ when result.AddressQuota => AllocateRefusal.AddressQuota,
        StunErrors.BadRequest when result.Auth == AuthStatus.BadRequest => AllocateRefusal.AuthFailed,
        StunErrors.BadRequest => AllocateRefusal.BadRequest,
        StunErrors.Unauthorized or StunErrors.WrongCredentials => AllocateRefusal.AuthFailed,
        StunErrors.Forbidden => AllocateRefusal.Forbidden,
        StunErrors.AllocationMismatch => AllocateRefusal.AllocationMismatch,
        StunErrors.UnsupportedTransportProtocol => AllocateRefusal.UnsupportedTransport,
        StunErrors.AddressFamilyNotSupported => AllocateRefusal.FamilyNotSupported,
        StunErrors.AllocationQuotaReached => AllocateRefusal.UserQuota,
        StunErrors.InsufficientCapacity => AllocateRefusal.Capacity,
        StunErrors.UnknownAttribute => AllocateRefusal.UnknownAttribute,
        _ => AllocateRefusal.Other,
    };

    private static Measurement<long>[] Row(long[] counts, string name, string[] values)
    {
        var measurements = new Measurement<long>[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            measurements[i] = new Measurement<long>(Volatile.Read(ref counts[i]), new KeyValuePair<string, object?>(name, values[i]));
        }

        return measurements;
    }

    private static Measurement<long>[] Grid(long[] counts, string rowName, string[] rows, string columnName, string[] columns)
    {
        var measurements = new Measurement<long>[rows.Length * columns.Length];
        for (int r = 0; r < rows.Length; r++)
        {
            for (int c = 0; c < columns.Length; c++)
            {
                int i = (r * columns.Length) + c;
                measurements[i] = new Measurement<long>(
                    Volatile.Read(ref counts[i]),
                    new KeyValuePair<string, object?>(rowName, rows[r]),
                    new KeyValuePair<string, object?>(columnName, columns[c]));
            }
        }

        return measurements;
    }

    private Measurement<long>[] ObserveAllocations()
    {
        long[] counts = new long[TransportCount * FamilyNames.Length];
        foreach (Allocation allocation in _allocations?.All ?? [])
        {
            int transport = (int)allocation.FiveTuple.Protocol * FamilyNames.Length;
            if (allocation.Relay4 is not null)
            {
                counts[transport]++;
            }

            if (allocation.Relay6 is not null)
            {
                counts[transport + 1]++;
            }
        }

        return Grid(counts, "transport", TransportNames, "family", FamilyNames);
    }

    private long Sum(Func<Allocation, int> count)
    {
        long total = 0;
        foreach (Allocation allocation in _allocations?.All ?? [])
        {
            total += count(allocation);
        }

        return total;
    }
}
