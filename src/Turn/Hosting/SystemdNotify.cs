using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;

namespace Turn.Hosting;

/// <summary>
/// The systemd notify protocol (sd_notify): READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1 and
/// STATUS= lines. Outside systemd it does nothing; a failure to reach its socket is logged and
/// never stops the caller.
/// </summary>
internal sealed class SystemdNotify(ISystemdNotifier notifier, ILogger logger)
{
    public bool Enabled => notifier.IsEnabled;

    public void Send(string state)
    {
        if (!notifier.IsEnabled)
        {
            return;
        }

        try
        {
            notifier.Notify(new ServiceState(state));
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            HostingLog.NotifyFailed(logger, e.Message);
        }
    }

    /// <summary>CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it in MONOTONIC_USEC.</summary>
    public static long MonotonicMicroseconds()
        => (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
}
