namespace Turn.Hosting;

/// <summary>How `turn serve` was started: the configuration file a reload reads again (null: defaults and environment only).</summary>
internal sealed record DaemonArguments(string? ConfigFile);
