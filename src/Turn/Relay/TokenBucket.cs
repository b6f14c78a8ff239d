namespace Turn.Relay;

/// <summary>A byte budget refilled at a fixed rate, allowing a burst of one second's worth. Not thread-safe: callers hold the allocation's lock.</summary>
internal struct TokenBucket
{
    private readonly long _ratePerSecond;
    private long _tokens;
    private long _lastRefill;

    public TokenBucket(long ratePerSecond)
    {
        _ratePerSecond = ratePerSecond;
        _tokens = ratePerSecond;
    }

    /// <summary>Takes <paramref name="amount"/> if the budget allows; with rate 0 always true.</summary>
    public bool TryTake(long amount, long nowMs)
    {
        if (_ratePerSecond <= 0)
        {
            return true;
        }

        long elapsed = nowMs - _lastRefill;
        if (elapsed > 0)
        {
            _tokens = Math.Min(_ratePerSecond, _tokens + (elapsed * _ratePerSecond / 1000));
            _lastRefill = nowMs;
        }

        if (_tokens < amount)
        {
            return false;
        }

        _tokens -= amount;
        return true;
    }
}
