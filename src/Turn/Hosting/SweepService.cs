using Microsoft.Extensions.Hosting;
using Turn.Relay;

namespace Turn.Hosting;

/// <summary>Runs the one expiry sweep every second on the injectable clock.</summary>
internal sealed class SweepService(ExpirySweeper sweeper, RelayClock clock) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock.TimeProvider);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            sweeper.Sweep(clock.NowMs);
        }
    }
}
