using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Turn.Signal;

/// <summary>
/// One signaling WebSocket: a receive loop that parses and dispatches each message, and one
/// writer draining a bounded queue. A bad message gets an error and the connection lives on; a
/// reader too slow for its queue is disconnected rather than growing memory.
/// </summary>
internal sealed class SignalConnection : ISignalSink, IDisposable
{
    private const int SmallBufferLength = 1024;
    private const string StoppingReason = "server stopping";
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly SignalHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<byte[]> _queue;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _receiving = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _writer = Task.CompletedTask;
    private volatile string? _closeReason;
    private Peer? _peer;
    private int _closeSent;
    private double _tokens;
    private long _lastRefill;
    private long _lastRateError;

    public SignalConnection(WebSocket socket, SignalHub hub, TimeProvider time, ILogger logger)
    {
        _socket = socket;
        _hub = hub;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(hub.Options.SendQueueLength)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _tokens = hub.Options.MessagesPerSecond * 2;
        _lastRefill = time.GetTimestamp();
    }

    public bool TrySend(ReadOnlyMemory<byte> utf8Json)
    {
        if (_queue.Writer.TryWrite(utf8Json.ToArray()))
        {
            return true;
        }

        _hub.Metrics.SendQueueDropped();
        return false;
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
        _queue.Writer.TryComplete();
        _ = CloseAfterDrain(reason);
    }

    private async Task CloseAfterDrain(string reason)
    {
        try
        {
            bool drained = await Task.WhenAny(_writer, Task.Delay(CloseWait)).ConfigureAwait(false) == _writer;
            if (drained)
            {
                await CloseSocket(reason).ConfigureAwait(false);
                await Task.WhenAny(_receiving.Task, Task.Delay(CloseWait)).ConfigureAwait(false);
            }

            await _closing.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile.
        }
    }

    /// <summary>
    /// Runs the connection until either side closes it. <paramref name="aborted"/> cuts it at once
    /// (the transport is gone); <paramref name="stopping"/> closes it politely with 1001 "server
    /// stopping", because cancelling a WebSocket receive would abort it without a close frame.
    /// </summary>
    public async Task RunAsync(CancellationToken aborted, CancellationToken stopping)
    {
        _hub.Metrics.Connected(1);
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, _closing.Token);
        using CancellationTokenRegistration onStop = stopping.Register(static state => ((SignalConnection)state!).Close(StoppingReason), this);
        _writer = WriteLoop(linked.Token);
        Task writer = _writer;
        string reason = "closed by peer";
        try
        {
            reason = await ReceiveLoop(linked.Token).ConfigureAwait(false);
            reason = _closeReason ?? reason;
        }
        catch (OperationCanceledException)
        {
            reason = _closeReason ?? "connection lost";
        }
        catch (WebSocketException e)
        {
            reason = e.WebSocketErrorCode == WebSocketError.ConnectionClosedPrematurely ? "connection lost" : e.Message;
        }
        finally
        {
            _receiving.TrySetResult();
            if (_peer is not null)
            {
                _hub.Disconnected(_peer, this, (long)(_time.GetTimestamp() * (1000.0 / _time.TimestampFrequency)));
            }

            _queue.Writer.TryComplete();
            try
            {
                await writer.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
            {
            }

            await CloseSocket(_closeReason ?? reason).ConfigureAwait(false);
            _hub.Metrics.Connected(-1);
            _hub.Metrics.Disconnected(Category(reason));
            SignalLog.Closed(_logger, _peer?.Id, reason);
        }
    }

    private async Task<string> ReceiveLoop(CancellationToken cancellationToken)
    {
        int max = _hub.Options.MaxMessageBytes;

        // Signaling messages are small; a connection keeps a small buffer and borrows a larger one
        // only while a larger message is being read, so idle peers cost little memory.
        byte[] small = new byte[Math.Min(max + 1, SmallBufferLength)];
        while (true)
        {
            byte[] buffer = small;
            int filled = 0;
            bool tooLarge = false;
            try
            {
                ValueWebSocketReceiveResult result;
                do
                {
                    if (!tooLarge && filled == buffer.Length && buffer.Length <= max)
                    {
                        byte[] larger = ArrayPool<byte>.Shared.Rent(max + 1);
                        buffer.AsSpan(0, filled).CopyTo(larger);
                        ReturnIfRented(buffer, small);
                        buffer = larger;
                    }

                    Memory<byte> space = tooLarge ? buffer : buffer.AsMemory(filled);
                    result = await _socket.ReceiveAsync(space, cancellationToken).ConfigureAwait(false);
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
                while (!result.EndOfMessage);

                if (tooLarge)
                {
                    Reply(SignalError.TooLarge, $"messages are limited to {max} bytes");
                    continue;
                }

                if (!TakeToken())
                {
                    // One error a second at most: answering every dropped message would fill the sender's own queue.
                    long now = _time.GetTimestamp();
                    if (_time.GetElapsedTime(_lastRateError, now) >= TimeSpan.FromSeconds(1))
                    {
                        _lastRateError = now;
                        Reply(SignalError.RateLimited, $"more than {_hub.Options.MessagesPerSecond} messages per second");
                    }

                    continue;
                }

                if (!System.Text.Unicode.Utf8.IsValid(buffer.AsSpan(0, filled)))
                {
                    Reply(SignalError.BadJson, "a message is UTF-8 JSON text");
                    continue;
                }

                try
                {
                    Dispatch(buffer.AsSpan(0, filled));
                }
                catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
                {
                    // A fault in handling one message answers that message; the connection lives on.
                    SignalLog.DispatchFault(_logger, e, _peer?.Id);
                    Reply(SignalError.Internal, "the server could not handle this message");
                }

                if (_closeReason is not null)
                {
                    return _closeReason;
                }
            }
            finally
            {
                ReturnIfRented(buffer, small);
            }
        }
    }

    private static void ReturnIfRented(byte[] buffer, byte[] small)
    {
        if (buffer != small)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Dispatch(ReadOnlySpan<byte> utf8)
    {
        if (!ClientMessage.TryParse(utf8, out ClientMessage message, out string problem))
        {
            Reply(SignalError.BadJson, problem);
            return;
        }

        if (message.Type is null)
        {
            Reply(SignalError.BadRequest, "\"type\" is missing", message.Id);
            return;
        }

        _hub.Metrics.Message(message.Type);
        switch (message.Type)
        {
            case "join":
                Join(message);
                break;
            case "offer" or "answer" or "candidate" or "message":
                Addressed(message);
                break;
            case "broadcast":
                if (RequireJoined(message))
                {
                    _hub.Broadcast(_peer!, SignalMessages.Relayed("broadcast", _peer!.Id, message.Data));
                }

                break;
            case "leave":
                if (RequireJoined(message))
                {
                    _hub.Leave(_peer!);
                    _peer = null;
                }

                break;
            case "ping":
                TrySend(SignalMessages.Pong(message.Id));
                break;
            default:
                Reply(SignalError.UnknownType, $"unknown message type \"{Truncate(message.Type)}\"", message.Id);
                break;
        }
    }

    private void Join(in ClientMessage message)
    {
        if (_peer is not null)
        {
            Reply(SignalError.AlreadyJoined, $"already in room \"{_peer.Room.Name}\"; leave first", message.Id);
            return;
        }

        if (message.Resume is not null)
        {
            Peer? resumed = _hub.Resume(message.Resume, this, peer => SignalMessages.Joined(peer, _hub.IceServers.GetIceServers(peer.Id), resumed: true));
            if (resumed is null)
            {
                Reply(SignalError.ResumeFailed, "the resume token is unknown or its grace window has passed; join again", message.Id);
                return;
            }

            _peer = resumed;
            SignalLog.Resumed(_logger, resumed.Id, resumed.Room.Name);
            return;
        }

        if (string.IsNullOrEmpty(message.Room) || message.Room.Length > 128)
        {
            Reply(SignalError.BadRequest, "\"room\" must be a string of 1 to 128 characters", message.Id);
            return;
        }

        if (_hub.Options.JoinTokenSecret is { } secret
            && !JoinToken.Verify(message.Token, secret, message.Room, _time.GetUtcNow().ToUnixTimeSeconds(), out string why))
        {
            Reply(SignalError.BadToken, why, message.Id);
            return;
        }

        if (message.Name is { Length: > 128 } || message.Meta.Length > 4096)
        {
            Reply(SignalError.BadRequest, "\"name\" is limited to 128 characters and \"meta\" to 4096 bytes", message.Id);
            return;
        }

        (Peer? peer, string? error) = _hub.Join(message.Room, message.Name, message.Meta.IsEmpty ? null : message.Meta.ToArray(), this);
        if (peer is null)
        {
            Reply(error!, error switch
            {
                SignalError.RoomFull => $"room \"{message.Room}\" has {_hub.Options.MaxPeersPerRoom} peers already",
                SignalError.TooManyRooms => "the server holds as many rooms as it may",
                _ => "the server is draining; try another",
            }, message.Id);
            return;
        }

        _peer = peer;
        TrySend(SignalMessages.Joined(peer, _hub.IceServers.GetIceServers(peer.Id), resumed: false));
        SignalLog.Joined(_logger, peer.Id, peer.Room.Name);
    }

    private void Addressed(in ClientMessage message)
    {
        if (!RequireJoined(message))
        {
            return;
        }

        if (string.IsNullOrEmpty(message.To))
        {
            Reply(SignalError.BadRequest, $"\"{message.Type}\" needs \"to\"", message.Id);
            return;
        }

        if (!_hub.SendTo(_peer!, message.To, SignalMessages.Relayed(message.Type!, _peer!.Id, message.Data)))
        {
            Reply(SignalError.UnknownPeer, $"no peer \"{Truncate(message.To)}\" in this room", message.Id);
        }
    }

    private bool RequireJoined(in ClientMessage message)
    {
        if (_peer is not null)
        {
            return true;
        }

        Reply(SignalError.NotJoined, "join a room first", message.Id);
        return false;
    }

    private void Reply(string code, string text, string? id = null)
    {
        _hub.Metrics.Error(code);
        if (!TrySend(SignalMessages.Error(code, text, id)))
        {
            Close("send queue full");
        }
    }

    private bool TakeToken()
    {
        int rate = _hub.Options.MessagesPerSecond;
        if (rate <= 0)
        {
            return true;
        }

        long now = _time.GetTimestamp();
        _tokens = Math.Min(rate * 2, _tokens + (_time.GetElapsedTime(_lastRefill, now).TotalSeconds * rate));
        _lastRefill = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }

    private async Task WriteLoop(CancellationToken cancellationToken)
    {
        await foreach (byte[] message in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
    }

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

    private static string Category(string reason) => reason switch
    {
        "closed by peer" or "connection lost" or "send queue full" or "server stopping" or "resumed elsewhere" => reason.Replace(' ', '_'),
        _ => "error",
    };

    public void Dispose() => _closing.Dispose();

    private static string Truncate(string text) => text.Length > 64 ? text[..64] : text;
}
