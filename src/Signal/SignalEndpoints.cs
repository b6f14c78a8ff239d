using System.Net.WebSockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Turn.Signal;

/// <summary>
/// Mounts signaling on an ASP.NET Core app: the WebSocket route, the HTTP API
/// (/api/ice-servers, /api/rooms), the browser client /signal.js and the demo page at /.
/// </summary>
public static class SignalEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static IServiceCollection AddSignal(this IServiceCollection services, SignalOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<SignalMetrics>();
        services.AddSingleton<SignalHub>();
        return services;
    }

    public static IEndpointRouteBuilder MapSignal(this IEndpointRouteBuilder app)
    {
        SignalHub hub = app.ServiceProvider.GetRequiredService<SignalHub>();
        string path = hub.Options.Path;
        ILogger logger = app.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Signal");
        TimeProvider time = app.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;

        // Each request reads the options in force, so a reload applies to the next one.
        app.Map(path, async context =>
        {
            SignalOptions options = hub.Options;
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
                await context.Response.WriteAsync("This is a WebSocket endpoint; see docs/signaling.md.").ConfigureAwait(false);
                return;
            }

            if (!IsOriginAllowed(context.Request, options))
            {
                SignalLog.OriginRefused(logger, context.Request.Headers.Origin.ToString());
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = TimeSpan.FromSeconds(options.PingIntervalSeconds),
                KeepAliveTimeout = TimeSpan.FromSeconds(options.PingIntervalSeconds * 3),
            }).ConfigureAwait(false);
            using var connection = new SignalConnection(socket, hub, time, logger);
            IHostApplicationLifetime? lifetime = context.RequestServices.GetService<IHostApplicationLifetime>();
            await connection.RunAsync(context.RequestAborted, lifetime?.ApplicationStopping ?? CancellationToken.None).ConfigureAwait(false);
        });

        app.MapGet("/api/ice-servers", (HttpContext context) => Authorized(context, hub.Options) || HasJoinToken(context, hub.Options, time)
            ? Results.Json(new { iceServers = hub.IceServers.GetIceServers("api") }, Json)
            : Results.Unauthorized());

        app.MapPost("/api/rooms/{room}/messages", async (HttpContext context, string room) =>
        {
            SignalOptions options = hub.Options;
            if (options.ApiKey is null)
            {
                // Anyone who can reach the listener could otherwise write into every room.
                return Results.Problem("server push is off until Signal:ApiKey is set", statusCode: StatusCodes.Status403Forbidden);
            }

            if (!Authorized(context, options))
            {
                return Results.Unauthorized();
            }

            byte[] body = new byte[options.MaxMessageBytes + 1];
            int read = await context.Request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false).ConfigureAwait(false);
            if (read > options.MaxMessageBytes)
            {
                return Results.Problem($"messages are limited to {options.MaxMessageBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            if (!IsJson(body.AsSpan(0, read)))
            {
                return Results.Problem("the body must be JSON", statusCode: StatusCodes.Status400BadRequest);
            }

            int delivered = hub.Push(room, body.AsSpan(0, read));
            return delivered < 0 ? Results.NotFound(new { error = $"no room \"{room}\"" }) : Results.Json(new { delivered }, Json);
        });

        app.MapGet("/api/rooms", (HttpContext context) => Authorized(context, hub.Options)
            ? Results.Json(hub.Snapshot().Select(r => new { room = r.Room, peers = r.Peers.Count }), Json)
            : Results.Unauthorized());

        app.MapGet("/api/rooms/{room}", (HttpContext context, string room) =>
        {
            if (!Authorized(context, hub.Options))
            {
                return Results.Unauthorized();
            }

            IReadOnlyList<RoomSnapshot> found = hub.Snapshot(room);
            RoomSnapshot? snapshot = found.Count > 0 ? found[0] : null;
            return snapshot is null ? Results.NotFound(new { error = $"no room \"{room}\"" }) : Results.Json(snapshot, Json);
        });

        app.MapGet("/signal.js", () => Asset("signal.js", "text/javascript; charset=utf-8"));
        app.MapGet("/", () => Asset("index.html", "text/html; charset=utf-8"));
        return app;
    }

    /// <summary>
    /// ASP.NET Core accepts a WebSocket from any Origin; a browser page from elsewhere must not
    /// ride on a user's session. Pages served by this host (the demo) always get in, others only
    /// when listed; clients that send no Origin are not browsers and are let through.
    /// </summary>
    public static bool IsOriginAllowed(HttpRequest request, SignalOptions options)
    {
        string origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        if (Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return options.AllowedOrigins.Contains("*") || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase);
    }

    private static bool Authorized(HttpContext context, SignalOptions options)
    {
        if (options.ApiKey is null)
        {
            return options.JoinTokenSecret is null || context.Request.Path != "/api/ice-servers";
        }

        string header = context.Request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        byte[] given = Encoding.UTF8.GetBytes(header[prefix.Length..].Trim());
        byte[] expected = Encoding.UTF8.GetBytes(options.ApiKey);
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    /// <summary>
    /// With join tokens on, a browser may also fetch ICE servers with the token the application
    /// gave it (Bearer or ?token=), so the API key never has to reach a browser.
    /// </summary>
    private static bool HasJoinToken(HttpContext context, SignalOptions options, TimeProvider time)
    {
        if (options.JoinTokenSecret is null)
        {
            return false;
        }

        string header = context.Request.Headers.Authorization.ToString();
        string? token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..].Trim() : context.Request.Query["token"].ToString();
        return JoinToken.VerifyAnyRoom(token, options.JoinTokenSecret, time.GetUtcNow().ToUnixTimeSeconds());
    }

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
