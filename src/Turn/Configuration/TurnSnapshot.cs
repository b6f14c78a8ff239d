namespace Turn.Configuration;

/// <summary>
/// The configuration in force: one <see cref="TurnOptions"/>, read and validated whole at start
/// and by each reload, and swapped at once. What can change while running reads
/// <see cref="Current"/> or is told through <see cref="OnReload"/>; what takes a restart keeps
/// the snapshot it was built from.
/// </summary>
internal sealed class TurnSnapshot(TurnOptions initial)
{
    private readonly List<Action<TurnOptions>> _consumers = [];
    private volatile TurnOptions _current = initial;

    public TurnOptions Current => _current;

    /// <summary>Calls <paramref name="consumer"/> with each snapshot a reload swaps in.</summary>
    public void OnReload(Action<TurnOptions> consumer)
    {
        lock (_consumers)
        {
            _consumers.Add(consumer);
        }
    }

    /// <summary>Makes <paramref name="next"/> the configuration in force and tells every consumer.</summary>
    public void Swap(TurnOptions next)
    {
        Action<TurnOptions>[] consumers;
        lock (_consumers)
        {
            _current = next;
            consumers = [.. _consumers];
        }

        foreach (Action<TurnOptions> consumer in consumers)
        {
            consumer(next);
        }
    }
}
