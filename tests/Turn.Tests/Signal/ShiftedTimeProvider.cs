using System.Diagnostics;

namespace Turn.Tests.Signal;

/// <summary>
/// The system clock, with the monotonic timestamp moved on as if the host had been up for
/// <c>uptime</c> longer. Wall-clock time is untouched.
/// </summary>
internal sealed class ShiftedTimeProvider(TimeSpan uptime) : TimeProvider
{
    private readonly long _shift = (long)(uptime.TotalSeconds * Stopwatch.Frequency);

    public override long TimestampFrequency => Stopwatch.Frequency;

    public override long GetTimestamp() => Stopwatch.GetTimestamp() + _shift;
}
