namespace Turn.Configuration;

/// <summary>One configuration key as read: its effective value (secrets masked) and where it came from.</summary>
internal sealed record ConfigEntry(string Key, string Value, string Source);
