using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Prometheus;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authorization;
using Turn.Relay;
using Turn.Server;
using Turn.Signal;
using Turn.Signal.Access;
using Turn.Transport;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>
/// The composition root behind `turn serve`: the STUN/TURN server always, and Kestrel with
/// signaling, the demo page and the HTTP API when Http:Urls lists any URL.
/// </summary>
internal static class DaemonComposition
{
    public static IHost CreateHost(TurnOptions options, IConfiguration configuration, string? configFile = null)
    {
        bool signal = options.Http.Urls.Count > 0;
        bool metricsPort = options.Metrics.Enabled && options.Metrics.Urls.Count > 0;
        if (!signal && !metricsPort)
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            Configure(builder.Configuration, builder.Logging, builder.Services, options, configuration, configFile);
            return builder.Build();
        }

        WebApplicationBuilder web = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        Configure(web.Configuration, web.Logging, web.Services, options, configuration, configFile);
        ConfigureKestrel(web, options, signal, metricsPort);
        web.Services.AddRouting();
        web.Services.AddSignalAccess();
        web.Services.AddSingleton<TurnAllowedHosts>();
        web.Services.AddSingleton<IAllowedHosts>(sp => sp.GetRequiredService<TurnAllowedHosts>());
        if (signal)
        {
            web.Services.AddSignal(options.Signal);
            web.Services.AddSingleton<IIceServerProvider>(sp => new TurnIceServers(sp.GetRequiredService<TurnSnapshot>(), TimeProvider.System));
        }

        WebApplication app = web.Build();
        ILogger log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Hosting");
        HostingLog.AllowedHosts(log, app.Services.GetRequiredService<TurnAllowedHosts>().Describe());
        if (signal)
        {
            LogAdmission(log, options.Signal);
        }

        UsePipeline(app, options, metricsPort);
        MapOperations(app, options);
        if (signal)
        {
            app.MapSignal();
        }

        return app;
    }

    /// <summary>Kestrel's slim core with HTTPS when a URL asks for it, the certificate in force, our own listeners.</summary>
    private static void ConfigureKestrel(WebApplicationBuilder web, TurnOptions options, bool signal, bool metricsPort)
    {
        web.WebHost.UseKestrelCore();
        if (options.Http.Urls.Concat(options.Metrics.Urls).Any(u => u.StartsWith("https:", StringComparison.OrdinalIgnoreCase)))
        {
            // The slim Kestrel core leaves HTTPS out unless asked for.
            web.WebHost.UseKestrelHttpsConfiguration();
        }

        if (options.Tls.CertificateFile is not null)
        {
            // Each handshake takes the certificate in force, so a reload reaches HTTPS too.
            web.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                X509Certificate2 initial = CertificateHolder.Load(options.Tls.CertificateFile, options.Tls.PrivateKeyFile);
                https.ServerCertificateSelector = (_, _) => kestrel.ApplicationServices.GetRequiredService<StunServerService>().Certificate?.Current ?? initial;
            }));
        }

        // Endpoints of our own, so TLS, the port TURN shares and the signaling upgrade run on the
        // connection before HTTP (after the HTTPS defaults above, which UseHttps takes).
        web.WebHost.ConfigureKestrel(kestrel => HttpListeners.Listen(kestrel, options, signal, metricsPort));
        if (signal)
        {
            // On plain http endpoints signaling WebSockets are served outside Kestrel's connections.
            web.WebHost.UseSignalTransport(HttpListeners.PlainHttp(options), HttpListeners.TrustedProxy(options));
        }
    }

    /// <summary>What every request passes before its endpoint: forwarded addresses, host names, WebSockets, routing, the metrics port, authorization.</summary>
    private static void UsePipeline(WebApplication app, TurnOptions options, bool metricsPort)
    {
        // Behind a reverse proxy the operator trusts, the client's address is the one it forwards;
        // a forwarding header from anyone else stays, and the client counts as another host.
        if (options.Http.TrustedProxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = 1 };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (Relay.IpPrefix proxy in options.Http.TrustedProxies)
            {
                forwarded.KnownIPNetworks.Add(new System.Net.IPNetwork(proxy.ToIPAddress(), proxy.Length));
            }

            app.UseForwardedHeaders(forwarded);
        }

        // Requests that name a host this server is not (DNS rebinding) go no further.
        app.UseAllowedHosts();
        app.UseWebSockets();
        app.UseRouting();
        if (metricsPort)
        {
            // Metrics:Urls serve the metrics endpoint alone, and the other listeners everything but
            // it: judged by the endpoint routing matched (so no spelling of the path slips through)
            // and the port the connection came in on (not the Host header a client sends).
            int[] ports = [.. options.Metrics.Urls.Select(u => new Uri(u).Port)];
            app.Use((context, next) =>
            {
                bool onMetricsPort = ports.Contains(context.Connection.LocalPort);
                bool forMetrics = context.GetEndpoint()?.Metadata.GetMetadata<MetricsEndpoint>() is not null;
                if (onMetricsPort != forMetrics)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(context);
            });
        }

        // Every endpoint below declares who may call it; one that declares nothing is refused.
        app.UseAuthorization();
    }

    private static void LogAdmission(ILogger log, SignalOptions signal)
    {
        switch (signal.Admission)
        {
            case SignalAdmission.JoinToken:
                HostingLog.Admission(log, "holders of a join token signed with Signal:JoinTokenSecret");
                break;
            case SignalAdmission.Open:
                HostingLog.OpenAdmission(log);
                break;
            default:
                HostingLog.Admission(log, "clients on this host only (set Signal:JoinTokenSecret to admit others)");
                break;
        }
    }

    /// <summary>/healthz, /readyz, /metrics (open to anyone who reaches them) and the admin API (Admin:ApiKey).</summary>
    private static void MapOperations(WebApplication app, TurnOptions options)
    {
        DaemonOperations operations = app.Services.GetRequiredService<DaemonOperations>();
        app.MapGet("/healthz", () => operations.Unhealthy() is { } reason
            ? Results.Text($"unhealthy: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n")).AllowAnonymous();
        app.MapGet("/readyz", () => operations.Ready
            ? Results.Text("ready\n")
            : Results.Text(operations.Draining ? "draining\n" : "starting\n", statusCode: StatusCodes.Status503ServiceUnavailable)).AllowAnonymous();

        if (options.Metrics.Enabled)
        {
            app.MapMetrics("/metrics", app.Services.GetRequiredService<CollectorRegistry>()).AllowAnonymous().WithMetadata(new MetricsEndpoint());
        }

        AuthorizationPolicy admin = SignalAccess.Policy(new AdminKeyRequirement(options.Admin.ApiKey));
        app.MapPost("/admin/reload", () =>
        {
            (bool ok, IReadOnlyList<string> problems) = operations.Reload("admin API");
            var body = new JsonObject { ["reloaded"] = ok };
            if (!ok)
            {
                body["problems"] = new JsonArray([.. problems.Select(p => (JsonNode)p)]);
            }

            return JsonReply(body, ok ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity);
        }).RequireAuthorization(admin);
        app.MapPost("/admin/drain", () =>
        {
            operations.Drain("admin API");
            return JsonReply(new JsonObject { ["draining"] = true, ["allocations"] = operations.Allocations }, StatusCodes.Status202Accepted);
        }).RequireAuthorization(admin);
        app.MapGet("/admin/status", () => JsonReply(new JsonObject
        {
            ["version"] = TurnVersion.Current,
            ["ready"] = operations.Ready,
            ["draining"] = operations.Draining,
            ["allocations"] = operations.Allocations,
            ["signalPeers"] = operations.SignalPeers,
        })).RequireAuthorization(admin);
    }

    private static JsonBytesResult JsonReply(JsonObject body, int statusCode = StatusCodes.Status200OK)
        => new(System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()), statusCode);

    private static void Configure(ConfigurationManager config, ILoggingBuilder logging, IServiceCollection services, TurnOptions options, IConfiguration configuration, string? configFile)
    {
        config.AddConfiguration(configuration);
        ConfigureLogging(logging, configuration);
        AddRelay(services, options);

        // After the relay's hosted services: operations start last and stop first.
        AddOperations(services, options, configFile);
    }

    private static void ConfigureLogging(ILoggingBuilder logging, IConfiguration configuration)
    {
        // Kestrel and routing log every request at Information; the operator can turn them back on under Logging.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // With any level on, hosting keeps an Activity for every request, a WebSocket's whole life long.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging.AddConfiguration(configuration.GetSection("Logging"));
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null || SystemdHelpers.IsSystemdService())
        {
            // journald adds its own timestamps; <N> prefixes carry the level as a syslog priority.
            logging.AddSystemdConsole();
        }
        else
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            });
        }
    }

    /// <summary>The snapshot in force, lifetime and signals, metrics, and the operations the admin API and signals reach.</summary>
    private static void AddOperations(IServiceCollection services, TurnOptions options, string? configFile)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp =>
        {
            // What a reload changes in what runs: the relay's secrets, peer lists and quotas, and
            // signaling's limits and keys. The ICE servers and the drain read the snapshot.
            var snapshot = new TurnSnapshot(options);
            snapshot.OnReload(next =>
            {
                StunRequestHandler handler = sp.GetRequiredService<StunRequestHandler>();
                if (handler.Relay is { } relay)
                {
                    handler.Reload(RelayComposition.Reload(relay, next));
                }

                sp.GetService<SignalHub>()?.Reload(next.Signal);
            });
            return snapshot;
        });
        services.AddSingleton(new DaemonArguments(configFile));
        services.AddSingleton<IHostLifetime, DaemonLifetime>();
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        // Every meter of the daemon comes from one factory (and goes with the container).
        services.AddMetrics();
        services.AddSingleton<TurnMetrics>();
        services.AddSingleton(sp =>
        {
            // prometheus-net would otherwise start adapters that listen to every meter in the
            // process (Kestrel's, ours again) for a default registry nobody scrapes: work per
            // measurement, and an Activity per HTTP request.
            Metrics.SuppressDefaultMetrics();
            CollectorRegistry registry = Metrics.NewCustomRegistry();
            DotNetStats.Register(registry);
            return registry;
        });
        services.AddSingleton(sp => new PrometheusBridge(sp.GetRequiredService<CollectorRegistry>(), m => m.Name.StartsWith(TurnMetrics.MeterName, StringComparison.Ordinal)));
        services.AddSingleton(sp =>
        {
            // The bridge listens before the first packet is counted (and not at all when metrics are off).
            if (options.Metrics.Enabled)
            {
                sp.GetRequiredService<PrometheusBridge>();
            }

            return ActivatorUtilities.CreateInstance<DaemonOperations>(sp);
        });
        services.AddHostedService(sp => sp.GetRequiredService<DaemonOperations>());
    }

    /// <summary>The relay: clock, host addresses, data plane, relay ports, allocations and the sweep, the handler, the server.</summary>
    private static void AddRelay(IServiceCollection services, TurnOptions options)
    {
        services.AddSingleton(RelayClock.System);
        services.AddSingleton(_ => new HostAddresses(HostAddressMonitor.Read()));
        services.AddSingleton<HostAddressMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HostAddressMonitor>());
        services.AddSingleton(sp => DataPlanes.Create(options.Listen, sp.GetRequiredService<RelayClock>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Transport")));
        services.AddSingleton(sp => new UdpRelayPorts(
            RelayComposition.RelayAddress(options, System.Net.Sockets.AddressFamily.InterNetwork),
            RelayComposition.RelayAddress(options, System.Net.Sockets.AddressFamily.InterNetworkV6),
            options.Relay.MinPort,
            options.Relay.MaxPort,
            sp.GetRequiredService<RelayClock>(),
            sp.GetRequiredService<IDataPlane>()));
        services.AddSingleton(sp =>
        {
            TurnMetrics metrics = sp.GetRequiredService<TurnMetrics>();
            RelayServices relay = RelayComposition.Build(options, sp.GetRequiredService<UdpRelayPorts>(), metrics, sp.GetRequiredService<HostAddresses>());
            metrics.Observe(relay.Allocations);
            return relay;
        });
        services.AddSingleton(sp =>
        {
            UdpRelayPorts ports = sp.GetRequiredService<UdpRelayPorts>();
            return new ExpirySweeper(sp.GetRequiredService<RelayServices>().Allocations, ports.Sweep);
        });
        services.AddSingleton(sp => new StunRequestHandler(new StunServerSettings(options.Software, ListenPlan.NatBehavior(options)), sp.GetRequiredService<RelayServices>()));
        services.AddSingleton(sp => new PacketPath(sp.GetRequiredService<StunRequestHandler>(), sp.GetRequiredService<TurnMetrics>()));
        services.AddSingleton<StunServerService>();
        services.AddHostedService(sp => sp.GetRequiredService<StunServerService>());
        services.AddSingleton(sp => new SweepService(
            sp.GetRequiredService<ExpirySweeper>(),
            sp.GetRequiredService<RelayClock>(),
            sp.GetService<SignalHub>()));
        services.AddHostedService(sp => sp.GetRequiredService<SweepService>());
    }
}
