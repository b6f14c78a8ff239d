using System.Net;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport;

/// <summary>
/// TURN over TLS on a port it shares with HTTPS: the HTTPS listener accepts, terminates TLS and
/// hands over the decrypted stream of a client that speaks STUN. Each such connection passes the
/// same <see cref="ConnectionGate"/> and gets the same first-message and idle deadlines, counting
/// and logging as a <see cref="StreamListener"/>'s TLS connections.
/// </summary>
internal sealed class SharedTlsSessions(StreamLimits limits, ConnectionSeats seats, RelayClock clock, PacketPath path, ILogger logger) : IDisposable
{
    private readonly ConnectionGate _gate = new(TransportProtocol.Tls, limits.MaxConnections, seats);
    private readonly CancellationTokenSource _stop = new();

    /// <summary>How long a new connection has for its first message, TLS handshake included.</summary>
    public TimeSpan FirstMessageTimeout => limits.FirstMessageTimeout;

    /// <summary>Serves the connection until it ends or <paramref name="closed"/> fires; <paramref name="acceptedAt"/> (Environment.TickCount64) starts its first-message deadline.</summary>
    public async Task ServeAsync(Stream stream, IPEndPoint remote, IPEndPoint local, long acceptedAt, CancellationToken closed)
    {
        TurnMetrics metrics = path.Metrics;
        if (!_gate.TryAdmit(remote, metrics, logger, out UInt128 source))
        {
            return;
        }

        string reason = "closed by peer";
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(closed, _stop.Token);
        StreamConnection? connection = null;
        try
        {
            TimeSpan firstMessageLeft = limits.FirstMessageTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - acceptedAt);
            connection = new StreamConnection(stream, null, TransportProtocol.Tls, remote, local, -1, path);
            reason = await connection.RunAsync(clock, firstMessageLeft, limits.IdleTimeout, idle).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = StreamListener.EndReason(e, _stop.IsCancellationRequested, connection, TransportProtocol.Tls, metrics, logger, remote);
        }
        finally
        {
            TransportLog.ConnectionClosed(logger, "tls", remote, reason);
            _gate.Release(source);
        }
    }

    /// <summary>Ends every connection (the server stops).</summary>
    public void Stop() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}
