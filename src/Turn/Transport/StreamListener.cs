using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
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
    private const int InitialBufferLength = 4096;
    private const int ResponseBufferLength = 2048;

    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly StreamLimits _limits;
    private readonly CertificateHolder? _certificate;
    private int _open;
    private Task _acceptLoop = Task.CompletedTask;

    private StreamListener(ListenEndpoint endpoint, Socket socket, StreamLimits limits, CertificateHolder? certificate)
    {
        Endpoint = endpoint;
        _socket = socket;
        _limits = limits;
        _certificate = certificate;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public ListenEndpoint Endpoint { get; }

    public IPEndPoint LocalEndPoint { get; }

    public int OpenConnections => Volatile.Read(ref _open);

    private string ProtocolName => Endpoint.Protocol == TransportProtocol.Tls ? "tls" : "tcp";

    public static StreamListener Bind(ListenEndpoint endpoint, StreamLimits limits, CertificateHolder? certificate)
    {
        Socket socket = SocketOptions.Create(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint.EndPoint);
            socket.Listen(1024);
            return new StreamListener(endpoint, socket, limits, certificate);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Start(StunRequestHandler handler, TurnMetrics metrics, ILogger logger)
    {
        _acceptLoop = AcceptLoop(handler, metrics, logger);
        TransportLog.Listening(logger, ProtocolName, LocalEndPoint);
    }

    private async Task AcceptLoop(StunRequestHandler handler, TurnMetrics metrics, ILogger logger)
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

            if (Interlocked.Increment(ref _open) > _limits.MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                metrics.CountConnection(Endpoint.Protocol, "refused");
                TransportLog.ConnectionRefused(logger, ProtocolName, client.RemoteEndPoint, _limits.MaxConnections);
                client.Dispose();
                continue;
            }

            metrics.CountConnection(Endpoint.Protocol, "accepted");
            _ = RunConnection(client, handler, metrics, logger);
        }
    }

    private async Task RunConnection(Socket client, StunRequestHandler handler, TurnMetrics metrics, ILogger logger)
    {
        EndPoint? remote = client.RemoteEndPoint;
        string reason = "closed by peer";
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialBufferLength);
        byte[] response = ArrayPool<byte>.Shared.Rent(ResponseBufferLength);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        Stream? stream = null;
        try
        {
            client.NoDelay = true;
            stream = new NetworkStream(client, ownsSocket: true);
            if (_certificate is not null)
            {
                stream = await Handshake(stream, idle, remote, logger).ConfigureAwait(false);
            }

            var context = new RequestContext(
                Endpoint.Protocol,
                StunAddress.FromIPEndPoint((IPEndPoint)remote!),
                StunAddress.FromIPEndPoint((IPEndPoint)client.LocalEndPoint!),
                Endpoint.Role);
            int filled = 0;
            while (true)
            {
                idle.CancelAfter(_limits.IdleTimeout);
                int read = await stream.ReadAsync(buffer.AsMemory(filled), idle.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                int consumed = 0;
                while (true)
                {
                    FrameStatus status = StreamFraming.TryGetFrame(buffer.AsSpan(consumed, filled - consumed), out int frameLength, out PacketKind kind);
                    if (status == FrameStatus.Invalid)
                    {
                        metrics.CountPacket(Endpoint.Protocol, Outcome.DroppedNotStun);
                        reason = "not STUN";
                        return;
                    }

                    if (status == FrameStatus.NeedMore)
                    {
                        if (frameLength > buffer.Length)
                        {
                            buffer = Grow(buffer, frameLength, consumed, filled);
                            filled -= consumed;
                            consumed = 0;
                        }

                        break;
                    }

                    int length = Answer(buffer.AsSpan(consumed, frameLength), kind, context, handler, response, metrics);
                    consumed += frameLength;
                    if (length > 0)
                    {
                        await stream.WriteAsync(response.AsMemory(0, length), idle.Token).ConfigureAwait(false);
                    }
                }

                if (consumed > 0)
                {
                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                }
            }
        }
        catch (OperationCanceledException)
        {
            reason = _stop.IsCancellationRequested ? "server stopping" : "idle";
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
            reason = e.Message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reason = "handler fault";
            metrics.CountError(Endpoint.Protocol);
            TransportLog.HandlerFault(logger, e, ProtocolName, remote?.ToString() ?? "?");
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

            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(response);
            Interlocked.Decrement(ref _open);
        }
    }

    private int Answer(ReadOnlySpan<byte> frame, PacketKind kind, in RequestContext context, StunRequestHandler handler, byte[] response, TurnMetrics metrics)
    {
        if (kind != PacketKind.Stun)
        {
            // ChannelData on a connection that holds no allocation has nowhere to go.
            metrics.CountPacket(Endpoint.Protocol, Outcome.Ignored);
            return 0;
        }

        HandleResult result = handler.Handle(frame, context, response);
        metrics.CountPacket(Endpoint.Protocol, result.Outcome);
        return result.Length;
    }

    private async Task<Stream> Handshake(Stream stream, CancellationTokenSource idle, EndPoint? remote, ILogger logger)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        idle.CancelAfter(_limits.HandshakeTimeout);
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
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            TransportLog.HandshakeFailed(logger, remote, e.Message);
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static byte[] Grow(byte[] buffer, int frameLength, int consumed, int filled)
    {
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(frameLength, StreamFraming.MaxFrameLength));
        buffer.AsSpan(consumed, filled - consumed).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        return larger;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
