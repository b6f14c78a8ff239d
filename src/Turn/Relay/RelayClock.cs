namespace Turn.Relay;

/// <summary>Monotonic milliseconds for lifetimes and Unix seconds for credentials, from one injectable <see cref="TimeProvider"/>.</summary>
internal sealed class RelayClock(TimeProvider timeProvider)
{
    public static RelayClock System { get; } = new(TimeProvider.System);

    public TimeProvider TimeProvider => timeProvider;

    public long NowMs => (long)(timeProvider.GetTimestamp() * (1000.0 / timeProvider.TimestampFrequency));

    public long UnixSeconds => timeProvider.GetUtcNow().ToUnixTimeSeconds();
}
