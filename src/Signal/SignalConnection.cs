using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace Turn.Signal;

/// <summary>
/// One signaling WebSocket: a receive loop that parses and dispatches each message, and a writer
/// that runs only while something is queued, draining a queue bounded in messages and bytes (and
/// by the daemon's budget); an idle connection holds neither a buffer nor a writer task. A
/// message for many recipients is one shared buffer, never copied per connection. A bad message
/// gets an error and the connection lives on; a reader too slow for its queue is disconnected
/// rather than growing memory.
/// </summary>
internal sealed partial class SignalConnection : ISignalSink
{
    private const int SmallBufferLength = 1024;
    private const string StoppingReason = "server stopping";
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly SignalHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _sendLock = new();
    private Queue<ReadOnlyMemory<byte>>? _pending;
    private bool _writing;
    private bool _sendsEnded;
    private readonly bool _local;
    private readonly QueueShare _share;
    private readonly UInt128 _source;
    private int _queuedBytes;
    private volatile bool _ended;
    private readonly TaskCompletionSource _receiving = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _writer = Task.CompletedTask;
    private volatile string? _closeReason;
    private Peer? _peer;
    private int _closeSent;
    private double _tokens;
    private long _lastRefill;
    private long _lastRateError;

    /// <param name="remote">The client's address (behind a trusted proxy, the one it forwarded).</param>
    /// <param name="local">Whether the client is on this host: a loopback address that no proxy forwarded.</param>
    /// <param name="share">What the client's address has queued.</param>
    public SignalConnection(WebSocket socket, SignalHub hub, TimeProvider time, ILogger logger, System.Net.IPAddress? remote, bool local, QueueShare share)
    {
        _socket = socket;
        _hub = hub;
        _time = time;
        _logger = logger;
        _local = local;
        _share = share;
        _source = SourceAddress.KeyOf(remote);
        _tokens = hub.Options.MessagesPerSecond * 2;
        _lastRefill = time.GetTimestamp();
    }

    /// <summary>
    /// Closes from the server's side: what is queued is written first, then a close frame with
    /// the reason goes out so the client can tell a takeover or a slow read from a network drop.
    /// A writer stuck on a reader that does not read is cut off after a short wait.
    /// </summary>
    public void Close(string reason)
    {
        if (_closeReason is not null)
        {
            return;
        }

        _closeReason = reason;
        _ = CloseAfterDrain(reason, EndSends());
    }

    private async Task CloseAfterDrain(string reason, Task writer)
    {
        try
        {
            bool drained = await Task.WhenAny(writer, Task.Delay(CloseWait)).ConfigureAwait(false) == writer;
            if (drained)
            {
                await CloseSocket(reason).ConfigureAwait(false);
                await Task.WhenAny(_receiving.Task, Task.Delay(CloseWait)).ConfigureAwait(false);
            }

            if (!_ended)
            {
                // Ends the receive and any write still waiting on a reader that does not read.
                _socket.Abort();
            }
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile.
        }
    }

    /// <summary>
    /// Runs the connection until either side closes it, then disposes it. A transport that goes
    /// away ends the read and any write by itself; <paramref name="stopping"/> closes it politely
    /// with 1001 "server stopping", because cancelling a WebSocket receive would abort it without
    /// a close frame.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        _hub.Metrics.Connected(1, _socket is Polling.PollingSocket);
        using CancellationTokenRegistration onStop = stopping.Register(static state => ((SignalConnection)state!).Close(StoppingReason), this);
        string reason = "closed by peer";
        try
        {
            // Nothing cancels the receive: the transport going away ends it, and so does our own
            // close, which aborts the socket (no token source or registration per connection).
            reason = await ReceiveLoop().ConfigureAwait(false);
            reason = _closeReason ?? reason;
        }
        finally
        {
            _receiving.TrySetResult();
            if (_peer is not null)
            {
                _hub.Disconnected(_peer, this, (long)(_time.GetTimestamp() * (1000.0 / _time.TimestampFrequency)));
            }

            // The writer ends on its own failures (WriteQueued), so waiting for it throws nothing.
            await EndSends().ConfigureAwait(false);

            await CloseSocket(_closeReason ?? reason).ConfigureAwait(false);
            await AwaitPeerClose().ConfigureAwait(false);
            _hub.Metrics.Connected(-1, _socket is Polling.PollingSocket);
            _hub.Metrics.Disconnected(Category(reason), _socket is Polling.PollingSocket);
            SignalLog.Closed(_logger, _peer?.Id, reason);
            _ended = true;
        }
    }

    private async Task<string> ReceiveLoop()
    {
        int max = _hub.Options.MaxMessageBytes;

        while (true)
        {
            // An idle connection holds no buffer: a zero-byte read waits for the next frame, and
            // only then is a small pooled buffer borrowed (a larger one while a larger message is read).
            // Awaited here, not in a helper: an idle connection holds this frame and no other.
            ValueWebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (LostReason(e) is { } lost)
            {
                return _closeReason ?? lost;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return "closed by peer";
            }

            byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Min(max + 1, SmallBufferLength));
            int filled = 0;
            bool tooLarge = false;
            try
            {
                while (!result.EndOfMessage)
                {
                    if (!tooLarge && filled == buffer.Length && buffer.Length <= max)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(max + 1);
                        buffer.AsSpan(0, filled).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    Memory<byte> space = tooLarge ? buffer : buffer.AsMemory(filled);
                    try
                    {
                        result = await _socket.ReceiveAsync(space, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (Exception e) when (LostReason(e) is { } lost)
                    {
                        return _closeReason ?? lost;
                    }

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return "closed by peer";
                    }

                    if (!tooLarge)
                    {
                        filled += result.Count;
                        tooLarge = filled > max;
                    }
                }

                if (Admit(buffer.AsSpan(0, filled), tooLarge, max) && Dispatched(buffer.AsSpan(0, filled)) is { } pending)
                {
                    // A join across daemons waits on Redis; the message after it waits for its answer.
                    await Answered(pending).ConfigureAwait(false);
                }

                if (_closeReason is not null)
                {
                    return _closeReason;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Whether a message read whole goes to <see cref="Dispatch"/>: within the rate (a too-large one counts too: it cost reading), the size, and UTF-8.</summary>
    private bool Admit(ReadOnlySpan<byte> message, bool tooLarge, int max)
    {
        if (!TakeToken())
        {
            // One error a second at most: answering every dropped message would fill the sender's own queue.
            long now = _time.GetTimestamp();
            if (_time.GetElapsedTime(_lastRateError, now) >= TimeSpan.FromSeconds(1))
            {
                _lastRateError = now;
                Reply(SignalError.RateLimited, $"more than {_hub.Options.MessagesPerSecond} messages per second");
            }

            return false;
        }

        if (tooLarge)
        {
            Reply(SignalError.TooLarge, $"messages are limited to {max} bytes");
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(message))
        {
            Reply(SignalError.BadJson, "a message is UTF-8 JSON text");
            return false;
        }

        return true;
    }

    /// <summary>Handles one message; what is left to wait for (a join across daemons), or null.</summary>
    private Task? Dispatched(ReadOnlySpan<byte> message)
    {
        try
        {
            return Dispatch(message);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            Faulted(e);
            return null;
        }
    }

    private async Task Answered(Task pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            Faulted(e);
        }
    }

    /// <summary>
    /// A fault in handling one message answers that message; the connection lives on. Clients can
    /// provoke it, so it is a warning, and not one per message.
    /// </summary>
    private void Faulted(Exception e)
    {
        if (SignalLog.Limiter.ShouldLog(2004, _time.GetTimestamp(), _time.TimestampFrequency, out long suppressed))
        {
            SignalLog.DispatchFault(_logger, e, _peer?.Id, suppressed);
        }

        Reply(SignalError.Internal, "the server could not handle this message");
    }

    /// <summary>
    /// Why a read failed, when the failure means the connection ended (closed without a close
    /// frame, reset, cut, or a protocol violation): the loop ends there instead of rethrowing.
    /// </summary>
    private static string? LostReason(Exception e) => e switch
    {
        WebSocketException w => w.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely ? "connection lost" : w.Message,
        OperationCanceledException or IOException => "connection lost",
        _ => null,
    };

    private async Task CloseSocket(string reason)
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived) || Interlocked.Exchange(ref _closeSent, 1) != 0)
        {
            return;
        }

        WebSocketCloseStatus status = reason switch
        {
            "send queue full" => WebSocketCloseStatus.PolicyViolation,
            "server stopping" => WebSocketCloseStatus.EndpointUnavailable,
            _ => WebSocketCloseStatus.NormalClosure,
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _socket.CloseOutputAsync(status, reason.Length > 120 ? reason[..120] : reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// After a close frame went out (ours, or the one the WebSocket sends for a protocol violation
    /// such as text that is not UTF-8), waits a moment for the peer's, so the frame reaches it
    /// before the socket is disposed (RFC 6455 §7.1.1).
    /// </summary>
    private async Task AwaitPeerClose()
    {
        if (_socket.State != WebSocketState.CloseSent)
        {
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(256);
        using var timeout = new CancellationTokenSource(CloseWait);
        try
        {
            while ((await _socket.ReceiveAsync(buffer.AsMemory(), timeout.Token).ConfigureAwait(false)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Category(string reason) => reason switch
    {
        "closed by peer" or "connection lost" or "send queue full" or "server stopping" or "resumed elsewhere" => reason.Replace(' ', '_'),
        _ => "error",
    };

    private static string Truncate(string text) => text.Length > 64 ? text[..64] : text;
}
