using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Turn.Hosting;

/// <summary>
/// systemd's watchdog (WatchdogSec=): WATCHDOG=1 twice per interval while the daemon is healthy,
/// withheld (and logged once) while a receive loop or the sweep is stalled, so systemd restarts a
/// daemon that hangs rather than one that is merely busy.
/// </summary>
internal sealed class SystemdWatchdog(SystemdNotify notify, ILogger logger)
{
    private string? _stall;

    /// <summary>WATCHDOG_USEC from systemd, when it is meant for this process (WATCHDOG_PID).</summary>
    public static TimeSpan? Interval()
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
    public static TimeSpan StallLimit()
    {
        TimeSpan? watchdog = Interval();
        return watchdog is { } w && w / 2 > TimeSpan.FromSeconds(2) ? w / 2 : TimeSpan.FromSeconds(2) * (watchdog is null ? 5 : 1);
    }

    /// <summary>Pings until <paramref name="cancellationToken"/> is cancelled; <paramref name="unhealthy"/> says why not to.</summary>
    public async Task RunAsync(Func<string?> unhealthy, CancellationToken cancellationToken)
    {
        TimeSpan? interval = Interval();
        if (interval is null || !notify.Enabled)
        {
            return;
        }

        // systemd expects a ping within WatchdogSec; twice as often leaves room for a slow tick.
        using var timer = new PeriodicTimer(interval.Value / 2);
        using CancellationTokenRegistration stop = timer.StopOn(cancellationToken);
        do
        {
            string? stall = unhealthy();
            if (stall is null)
            {
                notify.Send("WATCHDOG=1");
            }
            else if (_stall is null)
            {
                HostingLog.WatchdogWithheld(logger, stall);
            }

            _stall = stall;
        }
        while (await timer.WaitForNextTickAsync(CancellationToken.None).ConfigureAwait(false));
    }
}
