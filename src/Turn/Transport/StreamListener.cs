using System.Net.Security;
using System.Net.Sockets;
using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;

namespace Turn.Transport;

/// <summary>
/// A TCP or TLS listening address. Each connection reads into a buffer that grows only to the
/// largest frame seen, cuts STUN messages out of the stream (RFC 8489 §6.2.2) and answers each
/// in order. A connection that sends something that is not STUN or ChannelData is closed.
/// </summary>
internal sealed class StreamListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly StreamLimits _limits;
    private readonly CertificateHolder? _certificate;
    private readonly RelayClock _clock;
    private readonly ConnectionGate _gate;
    private Task? _acceptLoop;
    private Linux.EpollDataPlane? _epoll;
    private volatile bool _disposed;

    private StreamListener(ListenEndpoint endpoint, Socket socket, StreamLimits limits, CertificateHolder? certificate, RelayClock clock, ConnectionSeats seats)
    {
        _gate = new ConnectionGate(endpoint.Protocol, limits.MaxConnections, seats);
        _clock = clock;
        Endpoint = endpoint;
        _socket = socket;
        _limits = limits;
        _certificate = certificate;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public ListenEndpoint Endpoint { get; }

    public IPEndPoint LocalEndPoint { get; }

    /// <summary>True when the accept loop ended before the listener was disposed.</summary>
    public bool AcceptEnded => _acceptLoop is { IsCompleted: true } && !_disposed;

    private string ProtocolName => Endpoint.Protocol == TransportProtocol.Tls ? "tls" : "tcp";

    /// <param name="seats">Connections per client address, shared by every listener of the server; null: this listener's own.</param>
    public static StreamListener Bind(ListenEndpoint endpoint, StreamLimits limits, CertificateHolder? certificate, RelayClock? clock = null, ConnectionSeats? seats = null)
    {
        Socket socket = SocketOptions.Create(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint.EndPoint);
            socket.Listen(1024);
            return new StreamListener(endpoint, socket, limits, certificate, clock ?? RelayClock.System, seats ?? new ConnectionSeats(limits.MaxConnectionsPerAddress));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <param name="plane">The data plane; on Linux's, plain TCP clients are served by its threads.</param>
    public void Start(PacketPath path, ILogger logger, IDataPlane? plane = null)
    {
        _epoll = _certificate is null ? plane as Linux.EpollDataPlane : null;
        _acceptLoop = AcceptLoop(path, path.Metrics, logger);
        TransportLog.Listening(logger, ProtocolName, LocalEndPoint);
    }

    private async Task AcceptLoop(PacketPath path, TurnMetrics metrics, ILogger logger)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (_stop.IsCancellationRequested || e is ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Resource exhaustion (EMFILE) or a peer that vanished mid-handshake: keep accepting.
                TransportLog.ReceiveFailed(logger, ProtocolName, LocalEndPoint, e.SocketErrorCode.ToString());
                metrics.CountError(Endpoint.Protocol);
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            if (!_gate.TryAdmit(client.RemoteEndPoint, metrics, logger, out UInt128 source))
            {
                client.Dispose();
                continue;
            }

            if (_epoll is not null)
            {
                Adopt(_epoll, client, source, logger);
                continue;
            }

            _ = RunConnection(client, source, path, metrics, logger);
        }
    }

    /// <summary>A plain TCP client served by a data-plane thread; its seat is given back when it ends.</summary>
    private void Adopt(Linux.EpollDataPlane plane, Socket client, UInt128 source, ILogger logger)
    {
        try
        {
            client.NoDelay = true;
            plane.AdoptStream(client, Endpoint, _limits, (connection, reason) =>
            {
                TransportLog.ConnectionClosed(logger, ProtocolName, connection.Remote, reason);
                _gate.Release(source);
            });
        }
        catch (SocketException e)
        {
            // The client left between accept and now.
            TransportLog.ConnectionClosed(logger, ProtocolName, null, e.Message);
            client.Dispose();
            _gate.Release(source);
        }
    }

    private async Task RunConnection(Socket client, UInt128 source, PacketPath path, TurnMetrics metrics, ILogger logger)
    {
        EndPoint? remote = client.RemoteEndPoint;
        string reason = "closed by peer";
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        long acceptedAt = Environment.TickCount64;
        Stream? stream = null;
        StreamConnection? connection = null;
        try
        {
            client.NoDelay = true;
            stream = new NetworkStream(client, ownsSocket: true);
            if (_certificate is not null)
            {
                stream = await Handshake(stream, idle, remote, logger).ConfigureAwait(false);
            }

            // The first message is due a fixed time after accept, handshake included.
            TimeSpan firstMessageLeft = _limits.FirstMessageTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - acceptedAt);
            connection = new StreamConnection(stream, _certificate is null ? client : null, Endpoint.Protocol, remote!, client.LocalEndPoint!, Endpoint.Role, path);
            reason = await connection.RunAsync(_clock, firstMessageLeft, _limits.IdleTimeout, idle).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = EndReason(e, _stop.IsCancellationRequested, connection, Endpoint.Protocol, metrics, logger, remote);
        }
        finally
        {
            TransportLog.ConnectionClosed(logger, ProtocolName, remote, reason);
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                client.Dispose();
            }

            _gate.Release(source);
        }
    }

    /// <summary>Why a connection's session ended, from what it threw; a fault of ours is counted and logged.</summary>
    internal static string EndReason(Exception e, bool stopping, StreamConnection? connection, TransportProtocol protocol, TurnMetrics metrics, ILogger logger, EndPoint? remote)
    {
        switch (e)
        {
            case OperationCanceledException:
                return stopping ? "server stopping"
                    : connection is { MessagesRead: > 0 } ? "idle (no complete message)"
                    : "no complete first message in time";
            case IOException or SocketException or ObjectDisposedException or AuthenticationException:
                return e.Message;
            default:
                metrics.CountError(protocol);
                TransportLog.HandlerFault(logger, e, protocol.ToString().ToLowerInvariant(), remote?.ToString() ?? "?");
                return "handler fault";
        }
    }

    private async Task<Stream> Handshake(Stream stream, CancellationTokenSource idle, EndPoint? remote, ILogger logger)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        idle.CancelAfter(_limits.HandshakeTimeout < _limits.FirstMessageTimeout ? _limits.HandshakeTimeout : _limits.FirstMessageTimeout);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificate = _certificate!.Current,
            ClientCertificateRequired = false,
        };
        try
        {
            await ssl.AuthenticateAsServerAsync(options, idle.Token).ConfigureAwait(false);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            TransportLog.HandshakeFailed(logger, remote, e.Message);
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await (_acceptLoop ?? Task.CompletedTask).ConfigureAwait(false);
        _stop.Dispose();
    }
}
