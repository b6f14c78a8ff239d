namespace Turn.Hosting;

/// <summary>
/// Ends a <see cref="PeriodicTimer"/> loop when a token is cancelled by disposing the timer, so
/// that the pending wait returns false instead of throwing: stopping is an ordinary path and
/// throws nothing.
/// </summary>
internal static class TimerStop
{
    public static CancellationTokenRegistration StopOn(this PeriodicTimer timer, CancellationToken cancellationToken)
        => cancellationToken.Register(static state => ((PeriodicTimer)state!).Dispose(), timer);
}
