using System.Diagnostics.Metrics;
using Turn.Relay;

namespace Turn.Server;

/// <summary>
/// The daemon's instruments, on one <see cref="Meter"/> so any exporter can listen. Tags are
/// drawn from fixed sets (transport, outcome): never a label per client.
/// </summary>
internal sealed class TurnMetrics : IDisposable
{
    public const string MeterName = "Turn";

    private static readonly string[] TransportNames = ["udp", "tcp", "tls"];
    private static readonly string[] OutcomeNames = ["answered", "rejected", "ignored", "truncated", "not_stun", "malformed", "relayed", "no_allocation", "no_permission", "denied_peer", "quota", "send_failed", "rate_limited"];

    private static readonly string[] DirectionNames = ["to_peer", "to_client"];

    private readonly Meter _meter;
    private readonly Counter<long> _packets;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _connections;
    private readonly Counter<long> _relayedPackets;
    private readonly Counter<long> _relayedBytes;
    private readonly Counter<long> _relayDrops;
    private readonly Counter<long> _icmpReported;

    public TurnMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _packets = _meter.CreateCounter<long>("turn_stun_packets_total", description: "STUN packets received, by transport and what became of them.");
        _errors = _meter.CreateCounter<long>("turn_io_errors_total", description: "Socket send or receive failures and handler faults, by transport.");
        _connections = _meter.CreateCounter<long>("turn_stream_connections_total", description: "TCP and TLS connections accepted, by transport and result.");
        _relayedPackets = _meter.CreateCounter<long>("turn_relay_packets_total", description: "Packets relayed, by direction.");
        _relayedBytes = _meter.CreateCounter<long>("turn_relay_bytes_total", unit: "bytes", description: "Application bytes relayed, by direction.");
        _relayDrops = _meter.CreateCounter<long>("turn_relay_dropped_total", description: "Packets a relay socket dropped, by direction.");
        _icmpReported = _meter.CreateCounter<long>("turn_relay_icmp_reported_total", description: "ICMP errors about peers passed to clients as Data indications.");
    }

    public void CountPacket(TransportProtocol transport, Outcome outcome)
        => _packets.Add(1, new KeyValuePair<string, object?>("transport", TransportNames[(int)transport]), new KeyValuePair<string, object?>("outcome", OutcomeNames[(int)outcome]));

    public void CountError(TransportProtocol transport)
        => _errors.Add(1, new KeyValuePair<string, object?>("transport", TransportNames[(int)transport]));

    public void CountConnection(TransportProtocol transport, string result)
        => _connections.Add(1, new KeyValuePair<string, object?>("transport", TransportNames[(int)transport]), new KeyValuePair<string, object?>("result", result));

    public void CountRelayed(RelayDirection direction, int bytes)
    {
        var tag = new KeyValuePair<string, object?>("direction", DirectionNames[(int)direction]);
        _relayedPackets.Add(1, tag);
        _relayedBytes.Add(bytes, tag);
    }

    public void CountRelayDrop(RelayDirection direction)
        => _relayDrops.Add(1, new KeyValuePair<string, object?>("direction", DirectionNames[(int)direction]));

    public void CountIcmpReported() => _icmpReported.Add(1);

    public void Dispose() => _meter.Dispose();
}
