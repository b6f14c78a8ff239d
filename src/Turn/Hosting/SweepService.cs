using Microsoft.Extensions.Hosting;
using Turn.Relay;
using Turn.Signal;

namespace Turn.Hosting;

/// <summary>Runs the one expiry sweep every second on the injectable clock: allocations and, when signaling is on, peers past their resume window.</summary>
internal sealed class SweepService(ExpirySweeper sweeper, RelayClock clock, SignalHub? hub) : BackgroundService
{
    private long _lastSweep = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>How long ago the last sweep finished: a sweep that stops coming means the timers or the thread pool are stuck.</summary>
    public TimeSpan SinceLastSweep => System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _lastSweep));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock.TimeProvider);
        using CancellationTokenRegistration stop = timer.StopOn(stoppingToken);
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false))
        {
            long now = clock.NowMs;
            sweeper.Sweep(now);
            hub?.Sweep(now);
            Volatile.Write(ref _lastSweep, System.Diagnostics.Stopwatch.GetTimestamp());
        }
    }
}
