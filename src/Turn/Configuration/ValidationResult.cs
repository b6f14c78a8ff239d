namespace Turn.Configuration;

/// <summary>A configuration snapshot, every problem found in it, and what it weakens without being wrong.</summary>
internal sealed record ValidationResult(TurnOptions Options, IReadOnlyList<string> Errors)
{
    public bool IsValid => Errors.Count == 0;

    /// <summary>Settings that make the relay reach what the defaults keep out (loopback, link-local).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Every key read, its effective value and its source, in the order read.</summary>
    public IReadOnlyList<ConfigEntry> Entries { get; init; } = [];
}
