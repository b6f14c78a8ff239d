using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using Turn.Signal.Access;

namespace Turn.Signal.Polling;

/// <summary>
/// Signaling where WebSockets do not pass (a proxy that refuses the upgrade): the same protocol
/// over plain HTTP requests that every proxy carries (docs/signaling.md, "Without WebSockets").
/// <c>POST {path}/poll</c> opens a session with the checks of a WebSocket upgrade (Host, Origin,
/// the connection limits) and answers its token; <c>GET {path}/poll/{session}?ack=N</c> waits up
/// to Signal:PingIntervalSeconds for server messages and answers every one after the N-th as
/// <c>{"seq": last, "messages": [...]}</c> (what a lost response carried comes again);
/// <c>POST {path}/poll/{session}</c> carries client messages, one per line; <c>POST
/// {path}/poll/{session}/close</c> ends it. A session is a signaling connection like any other
/// (same rooms, limits, queues, resume), and one that has not polled for two ping intervals
/// counts as a dropped connection: its peer is away and may resume.
/// </summary>
internal sealed class PollingEndpoints
{
    /// <summary>Largest body of a post, and what a session may have waiting to be read: a few messages, and one of Signal:MaxMessageBytes whatever it is.</summary>
    public static int MaxPostBytes(SignalOptions options) => Math.Max(64 * 1024, options.MaxMessageBytes + 2);

    private readonly ConcurrentDictionary<string, PollingSocket> _sessions = new(StringComparer.Ordinal);
    private readonly SignalHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IAllowedHosts _hosts;
    private readonly CancellationToken _stopping;
    private readonly ITimer _sweep;

    private PollingEndpoints(SignalHub hub, TimeProvider time, ILogger logger, IAllowedHosts hosts, CancellationToken stopping)
    {
        _hub = hub;
        _time = time;
        _logger = logger;
        _hosts = hosts;
        _stopping = stopping;
        _sweep = time.CreateTimer(static state => ((PollingEndpoints)state!).Sweep(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        stopping.Register(static state => ((PollingEndpoints)state!)._sweep.Dispose(), this);
    }

    public static void Map(IEndpointRouteBuilder app, SignalHub hub, TimeProvider time, ILogger logger, IAllowedHosts hosts)
    {
        IHostApplicationLifetime? lifetime = app.ServiceProvider.GetService<IHostApplicationLifetime>();
        var polling = new PollingEndpoints(hub, time, logger, hosts, lifetime?.ApplicationStopping ?? CancellationToken.None);
        string path = hub.Options.Path.TrimEnd('/') + "/poll";
        app.MapPost(path, polling.Open).AllowAnonymous();
        app.MapGet(path + "/{session}", polling.Poll).AllowAnonymous();
        app.MapPost(path + "/{session}", polling.Post).AllowAnonymous();
        app.MapPost(path + "/{session}/close", polling.Close).AllowAnonymous();
    }

    private IResult Open(HttpContext context)
    {
        if (!Allowed(context))
        {
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }

        IPAddress? remote = context.Connection.RemoteIpAddress;
        UInt128 source = SourceAddress.KeyOf(remote);
        if (!_hub.TryAdmit(source, out QueueShare share, out int status, out string? refusal))
        {
            return Results.Text(refusal, "text/plain", statusCode: status);
        }

        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        var socket = new PollingSocket(_hub.Options.SendQueueBytes);
        _sessions[token] = socket;
        bool local = SourceAddress.IsLocal(context);
        _ = Task.Run(async () =>
        {
            try
            {
                await SignalEndpoints.Serve(socket, _hub, _time, _logger, remote, local, share, _stopping).ConfigureAwait(false);
            }
            finally
            {
                // The session stays listed until a poll reads its close, or the sweep finds it idle.
                _hub.Release(source);
            }
        });
        return new JsonBytesResult(SignalMessages.PollSession(token, _hub.Options.PingIntervalSeconds), StatusCodes.Status200OK);
    }

    /// <summary>The session a request names, or null when it was answered already: 403 for an Origin not allowed, 410 for a session unknown.</summary>
    private async Task<PollingSocket?> Find(HttpContext context, string session)
    {
        if (!Allowed(context))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return null;
        }

        if (!_sessions.TryGetValue(session, out PollingSocket? socket))
        {
            await Gone(context, null).ConfigureAwait(false);
        }

        return socket;
    }

    private async Task Poll(HttpContext context, string session)
    {
        if (await Find(context, session).ConfigureAwait(false) is not { } socket)
        {
            return;
        }

        long? acknowledged = long.TryParse(context.Request.Query["ack"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ack) ? ack : null;
        if (await socket.PollAsync(acknowledged, _hub.Options.KeepAliveInterval, context.RequestAborted).ConfigureAwait(false) is not (long sequence, List<ReadOnlyMemory<byte>> messages))
        {
            _sessions.TryRemove(session, out _);
            await Gone(context, socket).ConfigureAwait(false);
            return;
        }

        // {"seq":N,"messages":[...]}: the messages as the server wrote them, and the number of the last.
        byte[] head = System.Text.Encoding.ASCII.GetBytes($"{{\"seq\":{sequence},\"messages\":[");
        int length = head.Length + Math.Max(0, messages.Count - 1) + messages.Sum(m => m.Length) + 2;
        byte[] body = new byte[length];
        head.CopyTo(body, 0);
        int at = head.Length;
        for (int i = 0; i < messages.Count; i++)
        {
            if (i > 0)
            {
                body[at++] = (byte)',';
            }

            messages[i].Span.CopyTo(body.AsSpan(at));
            at += messages[i].Length;
        }

        body[at++] = (byte)']';
        body[at] = (byte)'}';
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task Post(HttpContext context, string session)
    {
        if (await Find(context, session).ConfigureAwait(false) is not { } socket)
        {
            return;
        }

        int maxBytes = MaxPostBytes(_hub.Options);
        byte[] body = System.Buffers.ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        var messages = new List<byte[]>();
        try
        {
            int read = await context.Request.Body.ReadAtLeastAsync(body.AsMemory(0, maxBytes + 1), maxBytes + 1, throwOnEndOfStream: false, context.RequestAborted).ConfigureAwait(false);
            if (read > maxBytes)
            {
                context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                return;
            }

            // One message per line (JSON text holds no raw line breaks); empty lines are skipped.
            foreach (Range line in body.AsSpan(0, read).Split((byte)'\n'))
            {
                ReadOnlySpan<byte> message = body.AsSpan(0, read)[line].TrimEnd((byte)'\r');
                if (!message.IsEmpty)
                {
                    messages.Add(message.ToArray());
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(body);
        }

        socket.Seen();
        context.Response.StatusCode = socket.TryPost(messages, maxBytes) ? StatusCodes.Status204NoContent
            : socket.State is System.Net.WebSockets.WebSocketState.Open ? StatusCodes.Status429TooManyRequests
            : StatusCodes.Status410Gone;
    }

    private async Task Close(HttpContext context, string session)
    {
        if (await Find(context, session).ConfigureAwait(false) is { } socket)
        {
            socket.ClientClosed();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
    }

    /// <summary>The upgrade's Origin and Host check, and CORS headers for an allowed page of another origin.</summary>
    private bool Allowed(HttpContext context)
    {
        if (!SignalEndpoints.OriginAdmitted(context.Request, _hub.Options, _hosts, _time, _logger))
        {
            return false;
        }

        string origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            context.Response.Headers.AccessControlAllowOrigin = origin;
            context.Response.Headers.Vary = "Origin";
        }

        return true;
    }

    /// <summary>410: the session is unknown or over; the body says why when it closed.</summary>
    private static async Task Gone(HttpContext context, PollingSocket? socket)
    {
        context.Response.StatusCode = StatusCodes.Status410Gone;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(SignalMessages.PollClosed((int?)socket?.CloseStatus ?? 1006, socket?.CloseStatusDescription ?? "no such session"), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Sessions that stopped polling are dropped connections: their peers go away (and may resume).</summary>
    private void Sweep()
    {
        long now = Environment.TickCount64;
        long abandoned = _hub.Options.PingIntervalSeconds * 2000L;
        foreach ((string token, PollingSocket socket) in _sessions)
        {
            if (!socket.Polling && now - socket.LastSeenMs > abandoned)
            {
                // Its connection ends as a dropped WebSocket's would; a closed one is forgotten.
                socket.Abort();
                if (now - socket.LastSeenMs > 2 * abandoned)
                {
                    _sessions.TryRemove(token, out _);
                }
            }
        }
    }
}
