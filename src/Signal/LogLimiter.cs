namespace Turn.Signal;

/// <summary>
/// Lets a log event through at most once per interval for each event id, and counts what it held
/// back, so that no client can fill the log by repeating what provokes a line.
/// </summary>
public sealed class LogLimiter(TimeSpan interval)
{
    private readonly Dictionary<int, (long Last, long Suppressed)> _events = [];
    private readonly Lock _lock = new();

    /// <summary>True when the event may be logged now; <paramref name="suppressed"/> is how many were held back since the last one.</summary>
    public bool ShouldLog(int eventId, long timestamp, long frequency, out long suppressed)
    {
        lock (_lock)
        {
            _events.TryGetValue(eventId, out (long Last, long Suppressed) state);
            if (state.Last != 0 && (timestamp - state.Last) < interval.TotalSeconds * frequency)
            {
                _events[eventId] = (state.Last, state.Suppressed + 1);
                suppressed = 0;
                return false;
            }

            suppressed = state.Suppressed;
            _events[eventId] = (timestamp, 0);
            return true;
        }
    }
}
