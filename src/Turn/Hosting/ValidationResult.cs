namespace Turn.Hosting;

/// <summary>A configuration snapshot and every problem found in it.</summary>
internal sealed record ValidationResult(TurnOptions Options, IReadOnlyList<string> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
