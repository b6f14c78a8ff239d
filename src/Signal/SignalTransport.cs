using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Turn.Signal;

/// <summary>
/// Kestrel's socket transport, with signaling WebSockets on plain HTTP endpoints kept out of it.
/// On such an endpoint this listener accepts every socket itself and peeks at what the client
/// sent first: a complete, plain upgrade request for the signaling path that the endpoint would
/// admit (<see cref="SignalUpgrade.TryAdmit"/>) is answered here and served over the bare socket,
/// so a held signaling connection costs a socket, a <see cref="SocketStream"/>, the WebSocket
/// and the signaling state, and none of Kestrel's per-connection pipes and loops. Every other
/// socket becomes an ordinary Kestrel connection (its bytes still unread), which runs the
/// endpoint's connection middleware and HTTP as before. Other endpoints (TLS, or not listed)
/// are Kestrel's own.
/// </summary>
internal sealed class SignalTransport(
    IOptions<SocketTransportOptions> options,
    ILoggerFactory loggers,
    Func<EndPoint, bool> plainHttp,
    Func<SignalUpgrade> upgrade) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly SocketTransportFactory _kestrel = new(options, loggers);

    public bool CanBind(EndPoint endpoint) => _kestrel.CanBind(endpoint);

    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint || !plainHttp(endpoint))
        {
            return await _kestrel.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }

        return new Listener(endpoint, options.Value, loggers.CreateLogger("Turn.Signal"), upgrade);
    }

    /// <summary>One plain HTTP endpoint: an accept loop that sorts each socket.</summary>
    private sealed class Listener : IConnectionListener
    {
        /// <summary>A request head larger than this is left to HTTP.</summary>
        private const int PeekLength = UpgradeRequest.MaxHeadLength;

        private readonly Socket _listen;
        private readonly SocketConnectionContextFactory _contexts;
        private readonly ILogger _logger;
        private readonly Func<SignalUpgrade> _upgrade;
        private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
        private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _acceptLoop;
        private int _served;
        private bool _unbound;

        public Listener(EndPoint endpoint, SocketTransportOptions options, ILogger logger, Func<SignalUpgrade> upgrade)
        {
            _listen = options.CreateBoundListenSocket(endpoint);
            _listen.Listen(options.Backlog);
            EndPoint = _listen.LocalEndPoint!;
            _contexts = new SocketConnectionContextFactory(new SocketConnectionFactoryOptions
            {
                IOQueueCount = options.IOQueueCount,
                WaitForDataBeforeAllocatingBuffer = options.WaitForDataBeforeAllocatingBuffer,
                MaxReadBufferSize = options.MaxReadBufferSize,
                MaxWriteBufferSize = options.MaxWriteBufferSize,
                UnsafePreferInlineScheduling = options.UnsafePreferInlineScheduling,
            }, logger);
            _logger = logger;
            _upgrade = upgrade;
            _acceptLoop = AcceptLoop();
        }

        public EndPoint EndPoint { get; }

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                return null;
            }
        }

        private async Task AcceptLoop()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listen.AcceptAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    if (Volatile.Read(ref _unbound))
                    {
                        _accepted.Writer.TryComplete();
                        return;
                    }

                    // A connection reset before it was accepted, or descriptors running out: go on.
                    if (SignalLog.Limiter.ShouldLog(2006, System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Stopwatch.Frequency, out long suppressed))
                    {
                        SignalLog.AcceptFailed(_logger, e.Message, suppressed);
                    }

                    await Task.Delay(10).ConfigureAwait(false);
                    continue;
                }

                _ = Sort(socket);
            }
        }

        /// <summary>Serves the socket's signaling upgrade here, or hands the socket to Kestrel; throws nothing.</summary>
        private async Task Sort(Socket socket)
        {
            try
            {
                await SortOrServe(socket).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A fault in one connection ends that connection only.
                socket.Dispose();
                if (SignalLog.Limiter.ShouldLog(2006, System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Stopwatch.Frequency, out long suppressed))
                {
                    SignalLog.AcceptFailed(_logger, e.Message, suppressed);
                }
            }
        }

        private async Task SortOrServe(Socket socket)
        {
            socket.NoDelay = true;
            SignalUpgrade upgrade = _upgrade();
            UpgradeRequest? request = await Peek(socket, upgrade).ConfigureAwait(false);
            IPAddress? remote = (socket.RemoteEndPoint as IPEndPoint)?.Address;
            if (request is null || !upgrade.TryAdmit(request, ref remote, out bool local, out UInt128 source, out QueueShare? share))
            {
                HandOver(socket);
                return;
            }

            Interlocked.Increment(ref _served);
            try
            {
                await upgrade.AnswerAndServe(new SocketStream(socket), request, remote, local, source, share).ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Decrement(ref _served) == 0 && Volatile.Read(ref _unbound))
                {
                    _drained.TrySetResult();
                }
            }
        }

        /// <summary>The socket, its bytes unread, to Kestrel as one of its connections; closed when Kestrel takes no more.</summary>
        private void HandOver(Socket socket)
        {
            try
            {
                if (_accepted.Writer.TryWrite(_contexts.Create(socket)))
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The client went before it was handed over.
            }

            socket.Dispose();
        }

        /// <summary>
        /// Waits for the client's first bytes (the head's time at most) and parses them without
        /// consuming any: the request when they are a complete upgrade for the signaling path,
        /// else null (HTTP reads them again, and a head still coming in is HTTP's to wait for).
        /// </summary>
        private static async Task<UpgradeRequest?> Peek(Socket socket, SignalUpgrade upgrade)
        {
            byte[]? buffer = null;
            try
            {
                using var deadline = new CancellationTokenSource(upgrade.HeadTimeout);
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                buffer = ArrayPool<byte>.Shared.Rent(PeekLength);
                int peeked = await socket.ReceiveAsync(buffer.AsMemory(0, PeekLength), SocketFlags.Peek, deadline.Token).ConfigureAwait(false);
                return UpgradeRequest.Parse(buffer.AsSpan(0, peeked), upgrade.Path, out UpgradeRequest? request) == UpgradeVerdict.Upgrade ? request : null;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return null;
            }
            finally
            {
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            Volatile.Write(ref _unbound, true);
            _listen.Dispose();
            return ValueTask.CompletedTask;
        }

        /// <summary>
        /// Stops accepting and waits for the signaling connections served here, which close on
        /// the host's stopping (each within its own close timeouts).
        /// </summary>
        public async ValueTask DisposeAsync()
        {
            await UnbindAsync().ConfigureAwait(false);
            await _acceptLoop.ConfigureAwait(false);

            // Sockets sorted after Kestrel stopped accepting.
            while (_accepted.Reader.TryRead(out ConnectionContext? left))
            {
                await left.DisposeAsync().ConfigureAwait(false);
            }

            if (Volatile.Read(ref _served) > 0)
            {
                await Task.WhenAny(_drained.Task, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
            }

            _contexts.Dispose();
        }
    }
}
