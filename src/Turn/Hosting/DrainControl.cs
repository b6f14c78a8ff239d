using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Turn.Configuration;
using Turn.Server;
using Turn.Signal;

namespace Turn.Hosting;

/// <summary>
/// Draining (SIGUSR1, POST /admin/drain, and SIGTERM with its own bound): no new allocations or
/// joins, what runs goes on, and the daemon stops when the last allocation ends or at the
/// deadline, whichever comes first. A second drain may bring the deadline closer, never later.
/// </summary>
internal sealed class DrainControl(
    TurnSnapshot snapshot,
    StunRequestHandler handler,
    SignalHub? hub,
    IHostApplicationLifetime lifetime,
    SystemdNotify notify,
    ILogger logger)
{
    private readonly Lock _lock = new();
    private Task _loop = Task.CompletedTask;
    private long _deadline = long.MaxValue;

    public bool Draining => handler.Relay?.Draining ?? hub?.Draining ?? false;

    public int Allocations => handler.Relay?.Allocations.Count ?? 0;

    /// <summary>The loop that stops the daemon; complete when no drain runs.</summary>
    public Task Loop => _loop;

    /// <summary>Drains until <paramref name="deadline"/> (Drain:DeadlineSeconds when null).</summary>
    public void Drain(string source, TimeSpan? deadline, CancellationToken stopping)
    {
        lock (_lock)
        {
            TimeSpan wait = deadline ?? TimeSpan.FromSeconds(snapshot.Current.Drain.DeadlineSeconds);
            long until = Environment.TickCount64 + (long)wait.TotalMilliseconds;
            if (Draining && until >= _deadline)
            {
                return;
            }

            _deadline = Math.Min(_deadline, until);
            if (handler.Relay is { } relay)
            {
                relay.Draining = true;
            }

            if (hub is not null)
            {
                hub.Draining = true;
            }

            HostingLog.Draining(logger, source, Allocations, (int)wait.TotalSeconds);
            notify.Send($"STATUS=draining: {Allocations} allocations left");
            if (_loop.IsCompleted)
            {
                _loop = StopWhenDrained(stopping);
            }
        }
    }

    private async Task StopWhenDrained(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        using CancellationTokenRegistration stop = timer.StopOn(cancellationToken);
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
        {
            int left = Allocations;
            if (left == 0 || Environment.TickCount64 >= Volatile.Read(ref _deadline))
            {
                HostingLog.Drained(logger, left);
                lifetime.StopApplication();
                return;
            }
        }
    }
}
