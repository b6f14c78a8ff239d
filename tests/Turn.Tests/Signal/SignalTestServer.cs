using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Turn.Signal;
using Turn.Signal.Access;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// Signaling on a real Kestrel on 127.0.0.1, port 0, mounted the way the daemon mounts it
/// (the upgrade taken at the connection, AddSignal, a fake ICE server provider, UseAllowedHosts,
/// UseWebSockets, UseRouting, UseAuthorization, MapSignal). The resume
/// sweep is not on a timer: tests call <see cref="Sweep"/> with the time they want.
/// </summary>
internal sealed class SignalTestServer : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;

    private SignalTestServer(WebApplication app, Uri http, FakeIceServers iceServers, ServerLog log)
    {
        _app = app;
        Log = log;
        Http = http;
        IceServers = iceServers;
        Hub = app.Services.GetRequiredService<SignalHub>();
        Options = Hub.Options;
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public Uri Http { get; }

    /// <summary>ws://127.0.0.1:PORT/signal (the configured path).</summary>
    public Uri Signal => new UriBuilder(Http) { Scheme = "ws", Path = Options.Path }.Uri;

    /// <summary>The page origin of the server itself: http://127.0.0.1:PORT</summary>
    public string SameOrigin => Http.GetLeftPart(UriPartial.Authority);

    public SignalHub Hub { get; }

    public SignalOptions Options { get; }

    public FakeIceServers IceServers { get; }

    /// <summary>Everything the server logged (signaling logs at Debug: joins, resumes, closes with their reason).</summary>
    public ServerLog Log { get; }

    /// <summary>Monotonic milliseconds as the daemon's sweep computes them (RelayClock.NowMs over TimeProvider.System).</summary>
    public static long NowMs => DaemonNowMs(TimeProvider.System);

    /// <summary>What the daemon hands SignalHub.Sweep every second: RelayClock.NowMs over <paramref name="time"/>.</summary>
    public static long DaemonNowMs(TimeProvider time) => (long)(time.GetTimestamp() * (1000.0 / time.TimestampFrequency));

    /// <param name="upgradeAtConnection">Whether upgrades are taken outside HTTP, as the daemon does (served outside Kestrel's connections, or at the connection when the head came in pieces); otherwise every one goes through the HTTP endpoint.</param>
    /// <param name="trustedProxy">Addresses whose X-Forwarded-For the upgrade at the connection takes as the client's.</param>
    public static async Task<SignalTestServer> StartAsync(SignalOptions options, TimeProvider? time = null, bool upgradeAtConnection = true, Func<System.Net.IPAddress, bool>? trustedProxy = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen =>
        {
            if (upgradeAtConnection)
            {
                listen.UseSignalUpgrade(trustedProxy);
            }
        }));
        if (upgradeAtConnection)
        {
            builder.WebHost.UseSignalTransport(_ => true, trustedProxy);
        }

        var log = new ServerLog();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(log);
        builder.Services.AddRouting();
        builder.Services.AddSignal(options);
        var iceServers = new FakeIceServers();
        builder.Services.AddSingleton<IIceServerProvider>(iceServers);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        WebApplication app = builder.Build();
        app.UseAllowedHosts();
        app.UseWebSockets();
        app.UseRouting();
        app.UseAuthorization();
        app.MapSignal();
        await app.StartAsync();
        try
        {
            string address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            return new SignalTestServer(app, new Uri(address.EndsWith('/') ? address : address + "/"), iceServers, log);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public Task<SignalTestClient> ConnectAsync(string? origin = null, bool read = true) => SignalTestClient.ConnectAsync(Signal, origin, read);

    /// <summary>Connects and joins; the client has read its "joined".</summary>
    public async Task<SignalTestClient> JoinAsync(string room, string? name = null)
    {
        SignalTestClient client = await ConnectAsync();
        await client.JoinAsync(room, name);
        return client;
    }

    public HttpClient HttpClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = Http, Timeout = Timeout };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>Runs the resume sweep as if <paramref name="afterMs"/> had passed since now.</summary>
    public int Sweep(long afterMs = 0) => Hub.Sweep(NowMs + afterMs);

    /// <summary>The grace window in milliseconds, plus a margin.</summary>
    public long PastGraceMs => (Options.ResumeGraceSeconds * 1000L) + 100;

    public PeerSnapshot? Peer(string room, string id)
        => Hub.Snapshot(room).SelectMany(r => r.Peers).FirstOrDefault(p => p.Id == id);

    /// <summary>Waits until the server has noticed that a peer's connection is gone (it is away, seat kept).</summary>
    public Task WaitUntilAwayAsync(string room, string id)
        => WaitUntilAsync(() => Peer(room, id) is { Connected: false }, $"peer {id} of room {room} to be away");

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Timeout, $"timed out after {Timeout.TotalSeconds} s waiting for {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Stops the host the way `turn serve` stops on SIGTERM, giving connections up to <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        using var stop = new CancellationTokenSource(timeout);
        await _app.StopAsync(stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(Timeout);
        try
        {
            await _app.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Connections that did not finish in time are cut by the dispose below.
        }

        await _app.DisposeAsync();
    }
}
