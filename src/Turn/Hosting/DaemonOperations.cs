using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Turn.Configuration;
using Turn.Server;
using Turn.Signal;

namespace Turn.Hosting;

/// <summary>
/// What an operator does to a running daemon, in one place for the signals and the admin API:
/// reload (<see cref="ConfigurationReload"/>), drain (<see cref="DrainControl"/>), graceful stop
/// (SIGTERM), health and readiness; and the systemd notify protocol around them: READY=1 once
/// listening, RELOADING=1/READY=1 around a reload, STOPPING=1, WATCHDOG=1 while the receive
/// loops and the sweep are well (<see cref="SystemdWatchdog"/>).
/// </summary>
internal sealed class DaemonOperations : IHostedService, IDisposable
{
    private readonly TurnSnapshot _snapshot;
    private readonly StunServerService _server;
    private readonly SweepService _sweep;
    private readonly SignalHub? _hub;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly SystemdNotify _notify;
    private readonly SystemdWatchdog _watchdog;
    private readonly DrainControl _drain;
    private readonly ConfigurationReload _reload;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Meter _meter;
    private readonly long[] _reloads = new long[2];
    private Task _watchdogLoop = Task.CompletedTask;

    public DaemonOperations(
        TurnSnapshot snapshot,
        DaemonArguments arguments,
        StunRequestHandler handler,
        StunServerService server,
        SweepService sweep,
        IHostApplicationLifetime lifetime,
        ISystemdNotifier notifier,
        ILogger<DaemonOperations> logger,
        IMeterFactory meters,
        SignalHub? hub = null)
    {
        _snapshot = snapshot;
        _server = server;
        _sweep = sweep;
        _hub = hub;
        _lifetime = lifetime;
        _notify = new SystemdNotify(notifier, logger);
        _watchdog = new SystemdWatchdog(_notify, logger);
        _drain = new DrainControl(snapshot, handler, hub, lifetime, _notify, logger);
        _reload = new ConfigurationReload(arguments.ConfigFile, snapshot, () => server.Certificate, logger);
        _meter = meters.Create(TurnMetrics.MeterName);
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

    public bool Draining => _drain.Draining;

    public bool Ready => _server.Started && !Draining;

    public int Allocations => _drain.Allocations;

    public int SignalPeers => _hub?.PeerCount ?? 0;

    /// <summary>Why the daemon is not healthy (a stalled receive loop or sweep), or null.</summary>
    public string? Unhealthy()
    {
        TimeSpan limit = SystemdWatchdog.StallLimit();
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
            _notify.Send("READY=1\nSTATUS=serving");

            // Start-up (configuration, composition, the first listeners) leaves megabytes of
            // garbage in a heap that a quiet relay may not collect for hours: give it back once,
            // after readiness is told, while the relay is still quiet.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _watchdogLoop = _watchdog.RunAsync(Unhealthy, _stopping.Token);
        });
        _lifetime.ApplicationStopping.Register(() => _notify.Send("STOPPING=1\nSTATUS=stopping"));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_watchdogLoop, _drain.Loop).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the configuration again; see <see cref="ConfigurationReload"/>.</summary>
    public (bool Ok, IReadOnlyList<string> Problems) Reload(string source)
    {
        lock (_lock)
        {
            _notify.Send($"RELOADING=1\nMONOTONIC_USEC={SystemdNotify.MonotonicMicroseconds()}\nSTATUS=reloading");
            try
            {
                (bool ok, IReadOnlyList<string> problems) = _reload.Reload(source);
                Interlocked.Increment(ref _reloads[ok ? 0 : 1]);
                return (ok, problems);
            }
            finally
            {
                _notify.Send(Draining ? "READY=1\nSTATUS=draining" : "READY=1\nSTATUS=serving");
            }
        }
    }

    /// <summary>
    /// Stops taking new allocations and joins; what runs goes on. The daemon exits when the last
    /// allocation ends or after <paramref name="deadline"/> (Drain:DeadlineSeconds when null).
    /// </summary>
    public void Drain(string source, TimeSpan? deadline = null) => _drain.Drain(source, deadline, _stopping.Token);

    /// <summary>SIGTERM: a drain bounded by Drain:ShutdownSeconds, then stop.</summary>
    public void Shutdown() => Drain("SIGTERM", TimeSpan.FromSeconds(_snapshot.Current.Drain.ShutdownSeconds));

    public void Dispose()
    {
        _stopping.Dispose();
        _meter.Dispose();
    }
}
