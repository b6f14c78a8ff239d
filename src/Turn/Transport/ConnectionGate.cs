using System.Net;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport;

/// <summary>
/// Who may hold a TCP or TLS connection of one listener: at most <c>maxConnections</c> at once,
/// and each client address at most its seats (shared by every listener of the server). Each
/// decision is counted; a refusal at the cap is logged at a bounded rate.
/// </summary>
internal sealed class ConnectionGate(TransportProtocol protocol, int maxConnections, ConnectionSeats seats)
{
    private readonly string _name = protocol == TransportProtocol.Tls ? "tls" : "tcp";
    private int _open;

    /// <summary>Takes a place for the client, or counts and logs why not; a taken place is given back with <see cref="Release"/>.</summary>
    public bool TryAdmit(EndPoint? remote, TurnMetrics metrics, ILogger logger, out UInt128 source)
    {
        source = default;
        if (Interlocked.Increment(ref _open) > maxConnections)
        {
            Interlocked.Decrement(ref _open);
            metrics.CountConnection(protocol, accepted: false);
            if (TransportLog.Limiter.ShouldLog(1105, System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Stopwatch.Frequency, out long suppressed))
            {
                TransportLog.ConnectionRefused(logger, _name, remote, maxConnections, suppressed);
            }

            return false;
        }

        // One address may not hold every seat: past its share it is refused, and others still get in.
        source = ConnectionSeats.KeyOf(remote);
        if (!seats.TryTake(source))
        {
            Interlocked.Decrement(ref _open);
            metrics.CountConnection(protocol, accepted: false, addressCap: true);
            TransportLog.ConnectionRefusedPerAddress(logger, _name, remote, seats.PerAddress);
            return false;
        }

        metrics.CountConnection(protocol, accepted: true);
        return true;
    }

    public void Release(UInt128 source)
    {
        seats.Release(source);
        Interlocked.Decrement(ref _open);
    }
}
