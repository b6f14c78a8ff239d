using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// A real <see cref="ClientWebSocket"/> on the signaling route. Unless told not to read, a
/// background loop reads every server message into an inbox; the Expect/Next helpers take from
/// it and fail after <see cref="SignalTestServer.Timeout"/>. Nothing here waits without a bound.
/// </summary>
internal sealed class SignalTestClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Channel<ServerMessage> _inbox = Channel.CreateUnbounded<ServerMessage>();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private int _pings;

    private SignalTestClient(ClientWebSocket socket, bool read)
    {
        _socket = socket;
        _reader = read ? Task.Run(ReadLoop) : Task.CompletedTask;
    }

    public ClientWebSocket Socket => _socket;

    /// <summary>The peer id from the last "joined".</summary>
    public string Id { get; private set; } = "";

    public string ResumeToken { get; private set; } = "";

    /// <summary>Completes when the reader saw the connection end: a close frame or an error.</summary>
    public Task Ended => _ended.Task;

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public string? CloseDescription { get; private set; }

    public Exception? Failure { get; private set; }

    /// <param name="from">The local address to connect from (another loopback address stands for another client); null: the system's choice.</param>
    /// <param name="headers">More request headers for the upgrade.</param>
    public static async Task<SignalTestClient> ConnectAsync(Uri uri, string? origin = null, bool read = true, IPAddress? from = null, IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        ClientWebSocket socket = Create(origin);
        foreach ((string name, string value) in headers ?? [])
        {
            socket.Options.SetRequestHeader(name, value);
        }

        try
        {
            using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
            if (from is null)
            {
                await socket.ConnectAsync(uri, timeout.Token);
            }
            else
            {
                using var invoker = new HttpMessageInvoker(From(from));
                await socket.ConnectAsync(uri, invoker, timeout.Token);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new SignalTestClient(socket, read);
    }

    /// <summary>An HTTP handler whose connections leave from <paramref name="local"/>.</summary>
    public static SocketsHttpHandler From(IPAddress local) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new System.Net.Sockets.Socket(local.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>The HTTP status of the upgrade: 101 when the WebSocket opened, else what the server answered.</summary>
    public static async Task<HttpStatusCode> UpgradeStatusAsync(Uri uri, string? origin)
    {
        using ClientWebSocket socket = Create(origin);
        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        try
        {
            await socket.ConnectAsync(uri, timeout.Token);
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }

        HttpStatusCode status = socket.HttpStatusCode;
        socket.Abort();
        return status;
    }

    private static ClientWebSocket Create(string? origin)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        return socket;
    }

    public Task SendAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    public async Task SendAsync(byte[] bytes, WebSocketMessageType type)
    {
        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        await _sendLock.WaitAsync(timeout.Token);
        try
        {
            await _socket.SendAsync(bytes, type, endOfMessage: true, timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends a join and expects "joined"; remembers the id and resume token.</summary>
    public async Task<ServerMessage> JoinAsync(string room, string? name = null, string? metaJson = null, string? token = null)
    {
        var join = new Dictionary<string, object?> { ["type"] = "join", ["room"] = room };
        if (name is not null)
        {
            join["name"] = name;
        }

        if (metaJson is not null)
        {
            join["meta"] = JsonDocument.Parse(metaJson).RootElement;
        }

        if (token is not null)
        {
            join["token"] = token;
        }

        await SendAsync(JsonSerializer.Serialize(join));
        return Remember(await ExpectAsync("joined"));
    }

    public async Task<ServerMessage> ResumeAsync(string resumeToken)
    {
        await SendAsync(JsonSerializer.Serialize(new { type = "join", resume = resumeToken }));
        return Remember(await ExpectAsync("joined"));
    }

    private ServerMessage Remember(ServerMessage joined)
    {
        Id = joined.Str("id");
        ResumeToken = joined.Str("resumeToken");
        return joined;
    }

    /// <summary>The next message, whatever it is.</summary>
    public async Task<ServerMessage> NextAsync(string waitingFor = "any message", TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? SignalTestServer.Timeout);
        try
        {
            return await _inbox.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no message within {(within ?? SignalTestServer.Timeout).TotalSeconds} s while waiting for {waitingFor} (peer {Id})");
            throw;
        }
        catch (ChannelClosedException)
        {
            Assert.Fail($"the connection ended while waiting for {waitingFor} (peer {Id}): close {CloseStatus} \"{CloseDescription}\", {Failure?.GetType().Name}: {Failure?.Message}");
            throw;
        }
    }

    /// <summary>The next message, which must be of <paramref name="type"/>.</summary>
    public async Task<ServerMessage> ExpectAsync(string type)
    {
        ServerMessage message = await NextAsync($"\"{type}\"");
        Assert.True(message.Type == type, $"expected \"{type}\", got {message.Raw}");
        return message;
    }

    /// <summary>The next error, which must carry <paramref name="code"/>.</summary>
    public async Task<ServerMessage> ExpectErrorAsync(string code)
    {
        ServerMessage error = await ExpectAsync("error");
        Assert.True(error.Str("code") == code, $"expected error \"{code}\", got {error.Raw}");
        Assert.False(string.IsNullOrEmpty(error.Str("message")), $"the error has no text: {error.Raw}");
        return error;
    }

    /// <summary>The next message of <paramref name="type"/>, passing over others.</summary>
    public async Task<ServerMessage> NextOfTypeAsync(string type, TimeSpan? within = null)
    {
        while (true)
        {
            ServerMessage message = await NextAsync($"\"{type}\"", within);
            if (message.Type == type)
            {
                return message;
            }
        }
    }

    /// <summary>
    /// Sends a ping and returns everything that came before its pong. The server answers on the
    /// same queue it delivers on, so whatever was handed to this connection before the ping was
    /// read is in the list: "nothing arrived" is tested without sleeping.
    /// </summary>
    public async Task<IReadOnlyList<ServerMessage>> SyncAsync()
    {
        string id = "sync-" + Interlocked.Increment(ref _pings).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await SendAsync(JsonSerializer.Serialize(new { type = "ping", id }));
        var before = new List<ServerMessage>();
        while (true)
        {
            ServerMessage message = await NextAsync($"the pong of {id}");
            if (message.Type == "pong" && message.Has("id") && message.Str("id") == id)
            {
                return before;
            }

            before.Add(message);
        }
    }

    /// <summary>Asserts that nothing was delivered to this connection (up to a ping round trip).</summary>
    public async Task ExpectNothingAsync()
    {
        IReadOnlyList<ServerMessage> arrived = await SyncAsync();
        Assert.True(arrived.Count == 0, $"peer {Id} got what it should not have: {string.Join(" ", arrived.Select(m => m.Raw))}");
    }

    /// <summary>Closes from the client side with a close frame and waits for the server's.</summary>
    public async Task CloseAsync()
    {
        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        await _sendLock.WaitAsync(timeout.Token);
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }

        await Ended.WaitAsync(SignalTestServer.Timeout);
    }

    private async Task ReadLoop()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.GetMemory(4096), _stop.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        CloseStatus = _socket.CloseStatus;
                        CloseDescription = _socket.CloseStatusDescription;
                        if (_socket.State == WebSocketState.CloseReceived)
                        {
                            using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
                            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
                        }

                        return;
                    }

                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage);

                _inbox.Writer.TryWrite(new ServerMessage(Encoding.UTF8.GetString(buffer.WrittenSpan)));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            Failure = e;
        }
        finally
        {
            _inbox.Writer.TryComplete();
            _ended.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        await _reader.WaitAsync(SignalTestServer.Timeout);
        _socket.Dispose();
        _stop.Dispose();
        _sendLock.Dispose();
    }
}
