using System.Diagnostics.Metrics;

namespace Turn.Server;

/// <summary>
/// The daemon's instruments, on one <see cref="Meter"/> so any exporter can listen. Tags are
/// drawn from fixed sets (transport, outcome): never a label per client.
/// </summary>
internal sealed class TurnMetrics : IDisposable
{
    public const string MeterName = "Turn";

    private static readonly string[] TransportNames = ["udp", "tcp", "tls"];
    private static readonly string[] OutcomeNames = ["answered", "rejected", "ignored", "truncated", "not_stun", "malformed"];

    private readonly Meter _meter;
    private readonly Counter<long> _packets;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _connections;

    public TurnMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _packets = _meter.CreateCounter<long>("turn_stun_packets_total", description: "STUN packets received, by transport and what became of them.");
        _errors = _meter.CreateCounter<long>("turn_io_errors_total", description: "Socket send or receive failures and handler faults, by transport.");
        _connections = _meter.CreateCounter<long>("turn_stream_connections_total", description: "TCP and TLS connections accepted, by transport and result.");
    }

    public void CountPacket(TransportProtocol transport, Outcome outcome)
        => _packets.Add(1, new KeyValuePair<string, object?>("transport", TransportNames[(int)transport]), new KeyValuePair<string, object?>("outcome", OutcomeNames[(int)outcome]));

    public void CountError(TransportProtocol transport)
        => _errors.Add(1, new KeyValuePair<string, object?>("transport", TransportNames[(int)transport]));

    public void CountConnection(TransportProtocol transport, string result)
        => _connections.Add(1, new KeyValuePair<string, object?>("transport", TransportNames[(int)transport]), new KeyValuePair<string, object?>("result", result));

    public void Dispose() => _meter.Dispose();
}
