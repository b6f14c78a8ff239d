using System.Net;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;

namespace Turn.Transport;

/// <summary>
/// TURN over TLS on a port it shares with HTTPS: the HTTPS listener accepts, terminates TLS and
/// hands over the decrypted stream of a client that speaks STUN. Each such connection gets what a
/// <see cref="StreamListener"/> gives its TLS connections: the connection cap, the seats per
/// address, the first-message and idle deadlines, counting and logging.
/// </summary>
internal sealed class SharedTlsSessions(StreamLimits limits, ConnectionSeats seats, RelayClock clock, PacketPath path, ILogger logger)
{
    private int _open;

    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Serves the connection until it ends; <paramref name="acceptedAt"/> (Environment.TickCount64) starts its first-message deadline.</summary>
    public async Task ServeAsync(Stream stream, IPEndPoint remote, IPEndPoint local, long acceptedAt, CancellationToken stopping)
    {
        TurnMetrics metrics = path.Metrics;
        if (Interlocked.Increment(ref _open) > limits.MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            metrics.CountConnection(TransportProtocol.Tls, accepted: false);
            TransportLog.ConnectionRefused(logger, "tls", remote, limits.MaxConnections, 0);
            return;
        }

        UInt128 source = ConnectionSeats.KeyOf(remote);
        if (!seats.TryTake(source))
        {
            Interlocked.Decrement(ref _open);
            metrics.CountConnection(TransportProtocol.Tls, accepted: false, addressCap: true);
            TransportLog.ConnectionRefusedPerAddress(logger, "tls", remote, seats.PerAddress);
            return;
        }

        metrics.CountConnection(TransportProtocol.Tls, accepted: true);
        string reason = "closed by peer";
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        StreamConnection? connection = null;
        try
        {
            TimeSpan firstMessageLeft = limits.FirstMessageTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - acceptedAt);
            connection = new StreamConnection(stream, null, TransportProtocol.Tls, remote, local, -1, path);
            reason = await connection.RunAsync(clock, firstMessageLeft, limits.IdleTimeout, idle).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = StreamListener.EndReason(e, stopping.IsCancellationRequested, connection, TransportProtocol.Tls, metrics, logger, remote);
        }
        finally
        {
            TransportLog.ConnectionClosed(logger, "tls", remote, reason);
            seats.Release(source);
            Interlocked.Decrement(ref _open);
        }
    }
}
