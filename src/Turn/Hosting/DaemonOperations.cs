using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Turn.Server;
using Turn.Signal;

namespace Turn.Hosting;

/// <summary>
/// What an operator does to a running daemon: reload (SIGHUP or POST /admin/reload), drain
/// (SIGUSR1 or POST /admin/drain), graceful stop (SIGTERM), plus the systemd notify protocol:
/// READY=1 once listening, WATCHDOG=1 while the receive loops and the sweep are well,
/// RELOADING=1/READY=1 around a reload, STOPPING=1.
/// </summary>
internal sealed class DaemonOperations : IHostedService, IDisposable
{
    private readonly string? _configFile;
    private readonly StunRequestHandler _handler;
    private readonly StunServerService _server;
    private readonly SweepService _sweep;
    private readonly SignalHub? _hub;
    private readonly TurnIceServers? _iceServers;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ISystemdNotifier _notifier;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Meter _meter;
    private readonly long[] _reloads = new long[2];
    private TurnOptions _options;
    private Task _watchdog = Task.CompletedTask;
    private Task _drain = Task.CompletedTask;
    private long _drainDeadline = long.MaxValue;
    private string? _watchdogStall;

    public DaemonOperations(
        TurnOptions options,
        DaemonArguments arguments,
        StunRequestHandler handler,
        StunServerService server,
        SweepService sweep,
        IHostApplicationLifetime lifetime,
        ISystemdNotifier notifier,
        ILogger<DaemonOperations> logger,
        SignalHub? hub = null,
        Signal.IIceServerProvider? iceServers = null,
        IMeterFactory? meters = null)
    {
        _meter = meters?.Create(Turn.Server.TurnMetrics.MeterName) ?? new Meter(Turn.Server.TurnMetrics.MeterName);
        _options = options;
        _configFile = arguments.ConfigFile;
        _handler = handler;
        _server = server;
        _sweep = sweep;
        _hub = hub;
        _iceServers = iceServers as TurnIceServers;
        _lifetime = lifetime;
        _notifier = notifier;
        _logger = logger;
        _meter.CreateObservableGauge("turn_ready", () => Ready ? 1 : 0, description: "1 when every listener is bound and the server is not draining (as /readyz).");
        _meter.CreateObservableGauge("turn_draining", () => Draining ? 1 : 0, description: "1 while draining.");
        _meter.CreateObservableGauge("turn_build_info", () => new Measurement<int>(1, new KeyValuePair<string, object?>("version", TurnVersion.Current)), description: "Always 1; the version label says which build runs.");
        _meter.CreateObservableCounter(
            "turn_reloads_total",
            () => new[]
            {
                new Measurement<long>(Volatile.Read(ref _reloads[0]), new KeyValuePair<string, object?>("result", "ok")),
                new Measurement<long>(Volatile.Read(ref _reloads[1]), new KeyValuePair<string, object?>("result", "refused")),
            },
            description: "Configuration reloads, by whether the new configuration was taken.");
    }

    public bool Draining => _handler.Relay?.Draining ?? _hub?.Draining ?? false;

    public bool Ready => _server.Started && !Draining;

    public int Allocations => _handler.Relay?.Allocations.Count ?? 0;

    public int SignalPeers => _hub?.PeerCount ?? 0;

    /// <summary>Why the daemon is not healthy (a stalled receive loop or sweep), or null.</summary>
    public string? Unhealthy()
    {
        TimeSpan limit = StallLimit();
        if (_server.Started && _server.Stall(limit) is { } reason)
        {
            return reason;
        }

        return _sweep.SinceLastSweep > limit + TimeSpan.FromSeconds(2)
            ? $"the expiry sweep last ran {_sweep.SinceLastSweep.TotalSeconds:F0} s ago"
            : null;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStarted.Register(() =>
        {
            Notify("READY=1\nSTATUS=serving");

            // Start-up (configuration, composition, the first listeners) leaves megabytes of
            // garbage in a heap that a quiet relay may not collect for hours: give it back once,
            // after readiness is told, while the relay is still quiet.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _watchdog = WatchdogLoop(_stopping.Token);
        });
        _lifetime.ApplicationStopping.Register(() => Notify("STOPPING=1\nSTATUS=stopping"));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_watchdog, _drain).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the configuration again and swaps in what can change while running: secrets and
    /// users, peer lists, quotas, signaling limits and keys, ICE servers, the drain target and the
    /// TLS certificate. A configuration with any problem is refused whole and the old one stays.
    /// Allocations and WebSocket sessions in flight are untouched.
    /// </summary>
    public (bool Ok, IReadOnlyList<string> Problems) Reload(string source)
    {
        lock (_lock)
        {
            Notify($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds()}\nSTATUS=reloading");
            try
            {
                (bool ok, IReadOnlyList<string> problems) = ReloadLocked(source);
                Interlocked.Increment(ref _reloads[ok ? 0 : 1]);
                return (ok, problems);
            }
            finally
            {
                Notify(Draining ? "READY=1\nSTATUS=draining" : "READY=1\nSTATUS=serving");
            }
        }
    }

    /// <summary>
    /// Stops taking new allocations and joins; what runs goes on. The daemon exits when the last
    /// allocation ends or after <paramref name="deadline"/> (the configured one when null).
    /// </summary>
    public void Drain(string source, TimeSpan? deadline = null)
    {
        lock (_lock)
        {
            TimeSpan wait = deadline ?? TimeSpan.FromSeconds(_options.Drain.DeadlineSeconds);
            long until = Environment.TickCount64 + (long)wait.TotalMilliseconds;
            if (Draining && until >= _drainDeadline)
            {
                return;
            }

            _drainDeadline = Math.Min(_drainDeadline, until);
            if (_handler.Relay is { } relay)
            {
                relay.Draining = true;
            }

            if (_hub is not null)
            {
                _hub.Draining = true;
            }

            HostingLog.Draining(_logger, source, Allocations, (int)wait.TotalSeconds);
            Notify($"STATUS=draining: {Allocations} allocations left");
            if (_drain.IsCompleted)
            {
                _drain = DrainLoop(_stopping.Token);
            }
        }
    }

    /// <summary>SIGTERM: a drain bounded by Drain:ShutdownSeconds, then stop.</summary>
    public void Shutdown() => Drain("SIGTERM", TimeSpan.FromSeconds(_options.Drain.ShutdownSeconds));

    public void Dispose()
    {
        _stopping.Dispose();
        _meter.Dispose();
    }

    private (bool Ok, IReadOnlyList<string> Problems) ReloadLocked(string source)
    {
        ValidationResult result = TurnConfiguration.Load(_configFile, out _);
        if (!result.IsValid)
        {
            HostingLog.ReloadRefused(_logger, source, string.Join("; ", result.Errors));
            return (false, result.Errors);
        }

        TurnOptions next = result.Options;
        Transport.CertificateHolder? holder = _server.Certificate;
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
        if (holder is not null && next.Tls.CertificateFile is not null)
        {
            try
            {
                certificate = Transport.CertificateHolder.Load(next.Tls.CertificateFile, next.Tls.PrivateKeyFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                string problem = $"Tls:CertificateFile: \"{next.Tls.CertificateFile}\" cannot be loaded: {e.Message}";
                HostingLog.ReloadRefused(_logger, source, problem);
                return (false, [problem]);
            }
        }

        foreach (string key in RestartOnlyChanges(_options, next))
        {
            HostingLog.ReloadNeedsRestart(_logger, key);
        }

        // What takes a restart stays as it runs, in everything built from the snapshot: the peer
        // filter must keep judging by the ports and addresses actually bound.
        TurnOptions effective = Effective(_options, next);
        if (_handler.Relay is { } relay)
        {
            _handler.Reload(RelayComposition.Reload(relay, effective));
        }

        _hub?.Reload(effective.Signal);
        _iceServers?.Reload(effective);
        if (certificate is not null)
        {
            holder!.Swap(certificate);
        }

        foreach (string warning in effective.Relay.ReachableHostRanges())
        {
            HostingLog.PeerPolicyWarning(_logger, warning);
        }

        _options = effective;
        HostingLog.Reloaded(_logger, source);
        return (true, []);
    }

    /// <summary>The reloaded options with every restart-only key kept as it runs.</summary>
    internal static TurnOptions Effective(TurnOptions current, TurnOptions next) => next with
    {
        Software = current.Software,
        Listen = current.Listen,
        Tcp = current.Tcp,
        Http = current.Http,
        Metrics = current.Metrics,
        Rfc5780 = current.Rfc5780,
        Tls = (current.Tls.CertificateFile is null) == (next.Tls.CertificateFile is null) ? next.Tls : current.Tls,
        // Into or out of the local default takes a restart: the HTTP side's reach goes with it.
        Auth = current.Auth.SecretGenerated != next.Auth.SecretGenerated
            ? current.Auth
            : next.Auth with { Realm = current.Auth.Realm, NonceLifetimeSeconds = current.Auth.NonceLifetimeSeconds },
        Relay = next.Relay with { Addresses = current.Relay.Addresses, MinPort = current.Relay.MinPort, MaxPort = current.Relay.MaxPort },
        Signal = next.Signal with { Path = current.Signal.Path, Redis = current.Signal.Redis },
    };

    private static IEnumerable<string> RestartOnlyChanges(TurnOptions current, TurnOptions next)
    {
        if (!current.Listen.Addresses.SequenceEqual(next.Listen.Addresses) || current.Listen.UdpPort != next.Listen.UdpPort
            || current.Listen.TcpPort != next.Listen.TcpPort || current.Listen.TlsPort != next.Listen.TlsPort
            || !current.Listen.Transports.SequenceEqual(next.Listen.Transports) || current.Listen.UdpThreads != next.Listen.UdpThreads
            || current.Listen.DataPlane != next.Listen.DataPlane)
        {
            yield return "Listen";
        }

        if (!current.Relay.Addresses.SequenceEqual(next.Relay.Addresses) || current.Relay.MinPort != next.Relay.MinPort || current.Relay.MaxPort != next.Relay.MaxPort)
        {
            yield return "Relay:Addresses/MinPort/MaxPort";
        }

        if (!current.Http.Urls.SequenceEqual(next.Http.Urls) || !current.Http.AllowedHosts.SequenceEqual(next.Http.AllowedHosts)
            || !current.Http.TrustedProxies.SequenceEqual(next.Http.TrustedProxies))
        {
            yield return "Http:Urls/AllowedHosts/TrustedProxies";
        }

        if (!current.Metrics.Urls.SequenceEqual(next.Metrics.Urls) || current.Metrics.Enabled != next.Metrics.Enabled)
        {
            yield return "Metrics";
        }

        if (current.Signal.Path != next.Signal.Path)
        {
            yield return "Signal:Path";
        }

        if (current.Signal.Redis != next.Signal.Redis)
        {
            yield return "Signal:Redis";
        }

        if ((current.Tls.CertificateFile is null) != (next.Tls.CertificateFile is null))
        {
            yield return "Tls:CertificateFile (turning TLS on or off)";
        }

        // Allocations keep the realm their key was made under; their refreshes must still match it.
        if (current.Auth.Realm != next.Auth.Realm || current.Auth.NonceLifetimeSeconds != next.Auth.NonceLifetimeSeconds)
        {
            yield return "Auth:Realm/NonceLifetimeSeconds";
        }

        if (current.Auth.SecretGenerated != next.Auth.SecretGenerated)
        {
            yield return "Auth:Secrets/Users (into or out of the local default)";
        }

        if (current.Software != next.Software || current.Tcp != next.Tcp || current.Rfc5780 != next.Rfc5780)
        {
            yield return "Software/Tcp/Rfc5780";
        }
    }

    private async Task DrainLoop(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        using CancellationTokenRegistration stop = timer.StopOn(cancellationToken);
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
        {
            int left = Allocations;
            bool pastDeadline = Environment.TickCount64 >= Volatile.Read(ref _drainDeadline);
            if (left == 0 || pastDeadline)
            {
                HostingLog.Drained(_logger, left);
                _lifetime.StopApplication();
                return;
            }
        }
    }

    private async Task WatchdogLoop(CancellationToken cancellationToken)
    {
        TimeSpan? interval = WatchdogInterval();
        if (interval is null || !_notifier.IsEnabled)
        {
            return;
        }

        // systemd expects a ping within WatchdogSec; twice as often leaves room for a slow tick.
        using var timer = new PeriodicTimer(interval.Value / 2);
        using CancellationTokenRegistration stop = timer.StopOn(cancellationToken);
        do
        {
            string? stall = Unhealthy();
            if (stall is null)
            {
                Notify("WATCHDOG=1");
            }
            else if (_watchdogStall is null)
            {
                HostingLog.WatchdogWithheld(_logger, stall);
            }

            _watchdogStall = stall;
        }
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false));
    }

    /// <summary>WATCHDOG_USEC from systemd, when it is meant for this process (WATCHDOG_PID).</summary>
    private static TimeSpan? WatchdogInterval()
    {
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid is not null && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }

        return long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec) && usec > 0
            ? TimeSpan.FromMicroseconds(usec)
            : null;
    }

    /// <summary>How long one packet may hold a receive loop before it counts as stalled.</summary>
    private static TimeSpan StallLimit()
    {
        TimeSpan? watchdog = WatchdogInterval();
        return watchdog is { } w && w / 2 > TimeSpan.FromSeconds(2) ? w / 2 : TimeSpan.FromSeconds(2) * (watchdog is null ? 5 : 1);
    }

    /// <summary>Tells systemd; a failure to reach its socket is logged and never stops the caller.</summary>
    private void Notify(string state)
    {
        if (!_notifier.IsEnabled)
        {
            return;
        }

        try
        {
            _notifier.Notify(new ServiceState(state));
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            HostingLog.NotifyFailed(_logger, e.Message);
        }
    }

    private static long MonotonicMicroseconds()
        => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
}
