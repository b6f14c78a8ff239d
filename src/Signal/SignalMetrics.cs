using System.Diagnostics.Metrics;

namespace Turn.Signal;

/// <summary>Signaling instruments on their own meter; no label per room or peer.</summary>
public sealed class SignalMetrics : IDisposable
{
    public const string MeterName = "Turn.Signal";

    private readonly Meter _meter;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _resumes;
    private readonly Counter<long> _disconnects;
    private readonly UpDownCounter<long> _peers;
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _sendQueueDrops;
    private readonly Counter<long> _shed;
    private readonly Counter<long> _backplaneEvents;
    private readonly Counter<long> _backplaneErrors;
    private SignalHub? _hub;

    public SignalMetrics(IMeterFactory? meters = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _messages = _meter.CreateCounter<long>("turn_signal_messages_total", description: "Messages received from peers, by type.");
        _errors = _meter.CreateCounter<long>("turn_signal_errors_total", description: "Error messages sent to peers, by code.");
        _resumes = _meter.CreateCounter<long>("turn_signal_resumes_total", description: "Peers that came back within the grace window.");
        _disconnects = _meter.CreateCounter<long>("turn_signal_disconnects_total", description: "Connections closed, by reason.");
        _peers = _meter.CreateUpDownCounter<long>("turn_signal_peers", description: "Peers seated in rooms, connected or away.");
        _connections = _meter.CreateUpDownCounter<long>("turn_signal_connections", description: "Open signaling connections, by transport (websocket, or polling: the HTTP fallback).");
        _sendQueueDrops = _meter.CreateCounter<long>("turn_signal_send_queue_drops_total", description: "Messages not delivered because the connection's send queue was full (the connection is then closed).");
        _shed = _meter.CreateCounter<long>("turn_signal_shed_messages_total", description: "Messages dropped because the daemon's queue budget or the sender's address share was spent (the connection lives on).");
        _meter.CreateObservableGauge("turn_signal_rooms", () => _hub?.RoomCount ?? 0, description: "Rooms with at least one peer.");
        _meter.CreateObservableGauge("turn_signal_queued_bytes", () => _hub?.QueuedBytes ?? 0, description: "Bytes waiting in send queues and kept for away peers (bounded by Signal:MaxQueuedMegabytes).");
        _backplaneEvents = _meter.CreateCounter<long>("turn_signal_backplane_events_total", description: "Room events sent to and received from the other daemons through Redis (Signal:Redis), by direction.");
        _backplaneErrors = _meter.CreateCounter<long>("turn_signal_backplane_errors_total", description: "Redis calls that failed or timed out (Signal:Redis); the daemon served what it could meanwhile.");
        _meter.CreateObservableGauge("turn_signal_backplane_up", BackplaneUp, description: "1 while the Redis of Signal:Redis is connected, 0 while not; absent without Signal:Redis.");

        // Every series exists from the start, so rate() and absent() work before the first event.
        _resumes.Add(0);
        foreach (string type in KnownTypes)
        {
            _messages.Add(0, new KeyValuePair<string, object?>("type", type));
        }

        foreach (string code in SignalError.All)
        {
            _errors.Add(0, new KeyValuePair<string, object?>("code", code));
        }

        foreach (string transport in Transports)
        {
            foreach (string reason in DisconnectReasons)
            {
                _disconnects.Add(0, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("transport", transport));
            }

            _connections.Add(0, new KeyValuePair<string, object?>("transport", transport));
        }

        _sendQueueDrops.Add(0);
        _shed.Add(0);
        _backplaneEvents.Add(0, new KeyValuePair<string, object?>("direction", "out"));
        _backplaneEvents.Add(0, new KeyValuePair<string, object?>("direction", "in"));
        _backplaneErrors.Add(0);
        _peers.Add(0);
    }

    /// <summary>How connections reach the daemon: WebSockets, or the HTTP fallback (long polls and posts).</summary>
    internal static readonly string[] Transports = ["websocket", "polling"];

    /// <summary>Message types counted by name; anything else a client sends counts as "other", so clients cannot add series.</summary>
    private static readonly string[] KnownTypes = ["join", "resume", "leave", "offer", "answer", "candidate", "message", "broadcast", "ice-servers", "ping"];

    internal void Message(string type)
    {
        int known = Array.IndexOf(KnownTypes, type);
        _messages.Add(1, new KeyValuePair<string, object?>("type", known >= 0 ? KnownTypes[known] : "other"));
    }

    internal void SendQueueDropped() => _sendQueueDrops.Add(1);

    /// <summary>A message dropped because the daemon's or the address's budget was spent (the connection lives on).</summary>
    internal void Shed() => _shed.Add(1);

    /// <summary>The reasons <see cref="Disconnected"/> is given (what SignalConnection reports).</summary>
    internal static readonly string[] DisconnectReasons = ["closed_by_peer", "connection_lost", "send_queue_full", "server_stopping", "resumed_elsewhere", "error"];

    internal void Observe(SignalHub hub) => _hub = hub;

    private IEnumerable<Measurement<int>> BackplaneUp() => _hub?.BackplaneConnected is { } up ? [new Measurement<int>(up ? 1 : 0)] : [];

    internal void BackplaneEvent(bool sent) => _backplaneEvents.Add(1, new KeyValuePair<string, object?>("direction", sent ? "out" : "in"));

    internal void BackplaneError() => _backplaneErrors.Add(1);

    internal void Error(string code) => _errors.Add(1, new KeyValuePair<string, object?>("code", code));

    internal void Resumed() => _resumes.Add(1);

    internal void Disconnected(string reason, bool polling)
        => _disconnects.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("transport", Transports[polling ? 1 : 0]));

    internal void PeerJoined() => _peers.Add(1);

    internal void PeerLeft() => _peers.Add(-1);

    internal void Connected(int delta, bool polling) => _connections.Add(delta, new KeyValuePair<string, object?>("transport", Transports[polling ? 1 : 0]));

    public void Dispose() => _meter.Dispose();
}
