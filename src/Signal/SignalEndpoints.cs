using System.Net;
using System.Net.WebSockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Turn.Signal.Access;

namespace Turn.Signal;

/// <summary>
/// Mounts signaling on an ASP.NET Core app: the WebSocket route, the HTTP API
/// (/api/ice-servers, /api/rooms), the browser client /signal.js and the demo page at /.
/// </summary>
public static class SignalEndpoints
{
    /// <summary>Registers the hub and its services; options with any problem (<see cref="SignalOptions.Validate"/>) are refused with an <see cref="ArgumentException"/> naming each.</summary>
    public static IServiceCollection AddSignal(this IServiceCollection services, SignalOptions options)
    {
        IReadOnlyList<SignalOptionsProblem> problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Signaling options with problems: {string.Join("; ", problems)}", nameof(options));
        }

        services.AddSingleton(options);
        services.AddSingleton<SignalMetrics>();
        if (options.Redis is null)
        {
            services.AddSingleton<SignalHub>();
        }
        else
        {
            // Connects in the background: start-up does not wait on Redis.
            string node = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            services.AddSingleton(_ => Backplane.RoomBus.Connect(options.Redis, node));
            services.AddSingleton(provider =>
            {
                var hub = new SignalHub(options, provider.GetRequiredService<IIceServerProvider>(), provider.GetRequiredService<SignalMetrics>());
                hub.Link(provider.GetRequiredService<Backplane.RoomBus>());
                return hub;
            });
        }

        services.AddSignalAccess();
        return services;
    }

    /// <summary>
    /// Takes signaling upgrades on the connections of <paramref name="listen"/> (after its TLS, if
    /// any); the app still maps the endpoint with MapSignal, for everything this leaves to HTTP.
    /// </summary>
    /// <param name="trustedProxy">As the app's forwarded-headers setup trusts (X-Forwarded-For, one hop); null when it trusts none.</param>
    public static ListenOptions UseSignalUpgrade(this ListenOptions listen, Func<IPAddress, bool>? trustedProxy = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        KestrelServerOptions kestrel = listen.KestrelServerOptions;
        var upgrade = new Lazy<SignalUpgrade>(() => new SignalUpgrade(kestrel.ApplicationServices, trustedProxy, kestrel.Limits.RequestHeadersTimeout));
        listen.Use(next => connection => upgrade.Value.OnConnectionAsync(connection, next));
        return listen;
    }

    /// <summary>
    /// Serves signaling WebSockets on the plain HTTP endpoints <paramref name="plainHttp"/> picks
    /// outside Kestrel's connections (see SignalTransport); every other connection, and every
    /// other endpoint, is Kestrel's as before. Pair it with <see cref="UseSignalUpgrade"/> on
    /// the same endpoints for the upgrades it leaves (a head that came in pieces).
    /// </summary>
    public static IWebHostBuilder UseSignalTransport(this IWebHostBuilder builder, Func<EndPoint, bool> plainHttp, Func<IPAddress, bool>? trustedProxy = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(plainHttp);
        return builder.ConfigureServices(services => services.AddSingleton<IConnectionListenerFactory>(provider =>
        {
            KestrelServerOptions kestrel = provider.GetRequiredService<IOptions<KestrelServerOptions>>().Value;
            var upgrade = new Lazy<SignalUpgrade>(() => new SignalUpgrade(provider, trustedProxy, kestrel.Limits.RequestHeadersTimeout));
            return new SignalTransport(provider.GetRequiredService<IOptions<SocketTransportOptions>>(), provider.GetRequiredService<ILoggerFactory>(), plainHttp, () => upgrade.Value);
        }));
    }

    public static IEndpointRouteBuilder MapSignal(this IEndpointRouteBuilder app)
    {
        SignalHub hub = app.ServiceProvider.GetRequiredService<SignalHub>();
        string path = hub.Options.Path;
        ILogger logger = app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Signal");
        TimeProvider time = app.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

        IAllowedHosts hosts = app.ServiceProvider.GetService<IAllowedHosts>() ?? new LocalHosts();

        // Each endpoint declares who may call it; each request reads the options in force, so a
        // reload applies to the next one. Who may join is decided per join (docs/signaling.md).
        app.Map(path, context => AcceptWebSocket(context, hub, time, logger, hosts)).AllowAnonymous();

        app.MapGet("/api/ice-servers", () => JsonBody(SignalMessages.ApiIceServers(hub.IceServers.GetIceServers("api"))))
            .RequireAuthorization(SignalAccess.IceServersPolicy);

        app.MapPost("/api/rooms/{room}/messages", (HttpContext context, string room) => PostMessage(context, hub, room))
            .RequireAuthorization(SignalAccess.ApiKeyPolicy);

        app.MapGet("/api/rooms", async () => JsonBody(SignalMessages.Rooms(await hub.SnapshotAsync().ConfigureAwait(false))))
            .RequireAuthorization(SignalAccess.ApiKeyPolicy);

        app.MapGet("/api/rooms/{room}", async (string room) =>
        {
            IReadOnlyList<RoomSnapshot> found = await hub.SnapshotAsync(room).ConfigureAwait(false);
            RoomSnapshot? snapshot = found.Count > 0 ? found[0] : null;
            return snapshot is null ? JsonBody(SignalMessages.ApiError($"no room \"{room}\""), StatusCodes.Status404NotFound) : JsonBody(SignalMessages.Room(snapshot));
        }).RequireAuthorization(SignalAccess.ApiKeyPolicy);

        Polling.PollingEndpoints.Map(app, hub, time, logger, hosts);

        app.MapGet("/signal.js", () => Asset("signal.js", "text/javascript; charset=utf-8")).AllowAnonymous();
        app.MapGet("/", () => Asset("index.html", "text/html; charset=utf-8")).AllowAnonymous();
        return app;
    }

    /// <summary>The WebSocket route: Origin, the address's share, the upgrade, then the connection until it ends.</summary>
    private static async Task AcceptWebSocket(HttpContext context, SignalHub hub, TimeProvider time, ILogger logger, IAllowedHosts hosts)
    {
        SignalOptions options = hub.Options;
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsync("This is a WebSocket endpoint; see docs/signaling.md.").ConfigureAwait(false);
            return;
        }

        if (!OriginAdmitted(context.Request, options, hosts, time, logger))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        System.Net.IPAddress? remote = context.Connection.RemoteIpAddress;
        UInt128 source = SourceAddress.KeyOf(remote);
        if (!hub.TryAdmit(source, out QueueShare share, out int status, out string? refusal))
        {
            context.Response.StatusCode = status;
            await context.Response.WriteAsync(refusal!).ConfigureAwait(false);
            return;
        }

        try
        {
            using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = options.KeepAliveInterval,
                KeepAliveTimeout = options.KeepAliveTimeout,
            }).ConfigureAwait(false);
            IHostApplicationLifetime? lifetime = context.RequestServices.GetService<IHostApplicationLifetime>();
            await Serve(socket, hub, time, logger, remote, SourceAddress.IsLocal(context), share, lifetime?.ApplicationStopping ?? CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            hub.Release(source);
        }
    }

    /// <summary>POST /api/rooms/{room}/messages: a JSON body of at most Signal:MaxMessageBytes to every peer of the room.</summary>
    private static async Task<JsonBytesResult> PostMessage(HttpContext context, SignalHub hub, string room)
    {
        SignalOptions options = hub.Options;
        byte[] body = new byte[options.MaxMessageBytes + 1];
        int read = await context.Request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false).ConfigureAwait(false);
        if (read > options.MaxMessageBytes)
        {
            return JsonBytesResult.Problem(StatusCodes.Status413PayloadTooLarge, $"messages are limited to {options.MaxMessageBytes} bytes");
        }

        if (!IsJson(body.AsSpan(0, read)))
        {
            return JsonBytesResult.Problem(StatusCodes.Status400BadRequest, "the body must be JSON");
        }

        int delivered = await hub.PushAsync(room, body.AsMemory(0, read)).ConfigureAwait(false);
        return delivered < 0 ? JsonBody(SignalMessages.ApiError($"no room \"{room}\""), StatusCodes.Status404NotFound) : JsonBody(SignalMessages.Delivered(delivered));
    }

    /// <summary>Runs one admitted signaling WebSocket until either side closes it.</summary>
    internal static Task Serve(WebSocket socket, SignalHub hub, TimeProvider time, ILogger logger, IPAddress? remote, bool local, QueueShare share, CancellationToken stopping)
        => new SignalConnection(socket, hub, time, logger, remote, local, share).RunAsync(stopping);

    /// <summary>
    /// ASP.NET Core accepts a WebSocket from any Origin; a browser page from elsewhere must not
    /// ride on a user's session. A page served by this server (the demo: same scheme-less host
    /// and port as the request, and that host one of this server's configured names) gets in,
    /// others only when listed; clients that send no Origin are not browsers and are let through.
    /// The request's Host alone is never the yardstick: a DNS-rebinding page sets it, so the
    /// host must be one of <paramref name="hosts"/> as well.
    /// </summary>
    public static bool IsOriginAllowed(HttpRequest request, SignalOptions options, IAllowedHosts hosts)
    {
        ArgumentNullException.ThrowIfNull(request);
        return IsOriginAllowed(request.Headers.Origin.ToString(), request.Host.Value ?? "", options, hosts);
    }

    /// <summary><see cref="IsOriginAllowed(HttpRequest, SignalOptions, IAllowedHosts)"/>, with a refusal logged (a few a second at most).</summary>
    internal static bool OriginAdmitted(HttpRequest request, SignalOptions options, IAllowedHosts hosts, TimeProvider time, ILogger logger)
    {
        if (IsOriginAllowed(request, options, hosts))
        {
            return true;
        }

        if (SignalLog.Limiter.ShouldLog(2003, time.GetTimestamp(), time.TimestampFrequency, out long suppressed))
        {
            string origin = request.Headers.Origin.ToString();
            SignalLog.OriginRefused(logger, origin.Length > 128 ? origin[..128] : origin, suppressed);
        }

        return false;
    }

    /// <summary>The same, from the Origin and Host headers' values (<paramref name="origin"/> empty when absent).</summary>
    internal static bool IsOriginAllowed(string origin, string host, SignalOptions options, IAllowedHosts hosts)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(hosts);
        if (origin.Length == 0)
        {
            return true;
        }

        if (options.AllowedOrigins.Contains("*") || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
        {
            return true;
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && hosts.IsAllowed(uri.Host)
            && string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase);
    }

    private static JsonBytesResult JsonBody(byte[] utf8, int statusCode = StatusCodes.Status200OK) => new(utf8, statusCode);

    private static bool IsJson(ReadOnlySpan<byte> utf8)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(utf8);
            while (reader.Read())
            {
            }

            return utf8.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static IResult Asset(string name, string contentType)
    {
        Stream? stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Turn.Signal.wwwroot." + name);
        return stream is null ? Results.NotFound() : Results.Stream(stream, contentType);
    }
}
