using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Turn.Relay;
using Turn.Server;
using Turn.Signal;
using Turn.Transport;

namespace Turn.Hosting;

/// <summary>
/// The composition root behind `turn serve`: the STUN/TURN server always, and Kestrel with
/// signaling, the demo page and the HTTP API when Http:Urls lists any URL.
/// </summary>
internal static class DaemonComposition
{
    public static IHost CreateHost(TurnOptions options, IConfiguration configuration)
    {
        if (options.Http.Urls.Count == 0)
        {
            HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            Configure(builder.Configuration, builder.Logging, builder.Services, options, configuration);
            return builder.Build();
        }

        WebApplicationBuilder web = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        Configure(web.Configuration, web.Logging, web.Services, options, configuration);
        web.WebHost.UseKestrelCore().UseUrls([.. options.Http.Urls]);
        if (options.Tls.CertificateFile is not null)
        {
            web.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
                https.ServerCertificate = CertificateHolder.Load(options.Tls.CertificateFile, options.Tls.PrivateKeyFile)));
        }

        web.Services.AddRouting();
        web.Services.AddSignal(options.Signal);
        web.Services.AddSingleton<IIceServerProvider>(sp => new TurnIceServers(options, TimeProvider.System));
        WebApplication app = web.Build();
        app.UseWebSockets();
        app.UseRouting();
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapSignal();
        return app;
    }

    private static void Configure(ConfigurationManager config, ILoggingBuilder logging, IServiceCollection services, TurnOptions options, IConfiguration configuration)
    {
        config.AddConfiguration(configuration);
        logging.AddConfiguration(configuration.GetSection("Logging"));
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            console.UseUtcTimestamp = true;
        });
        services.AddSingleton(options);
        services.AddSingleton<IHostLifetime, ConsoleLifetimeWithoutBanner>();
        services.AddSingleton<TurnMetrics>();
        services.AddSingleton(RelayClock.System);
        services.AddSingleton(sp => new UdpRelayPorts(
            RelayComposition.RelayAddress(options, System.Net.Sockets.AddressFamily.InterNetwork),
            RelayComposition.RelayAddress(options, System.Net.Sockets.AddressFamily.InterNetworkV6),
            options.Relay.MinPort,
            options.Relay.MaxPort,
            sp.GetRequiredService<RelayClock>(),
            sp.GetRequiredService<TurnMetrics>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Relay")));
        services.AddSingleton(sp => RelayComposition.Build(options, sp.GetRequiredService<UdpRelayPorts>()));
        services.AddSingleton(sp =>
        {
            UdpRelayPorts ports = sp.GetRequiredService<UdpRelayPorts>();
            return new ExpirySweeper(sp.GetRequiredService<RelayServices>().Allocations, ports.Sweep);
        });
        services.AddSingleton(sp => new StunRequestHandler(new StunServerSettings(options.Software, ListenPlan.NatBehavior(options)), sp.GetRequiredService<RelayServices>()));
        services.AddSingleton<StunServerService>();
        services.AddHostedService(sp => sp.GetRequiredService<StunServerService>());
        services.AddHostedService(sp => new SweepService(
            sp.GetRequiredService<ExpirySweeper>(),
            sp.GetRequiredService<RelayClock>(),
            sp.GetService<SignalHub>()));
    }
}
