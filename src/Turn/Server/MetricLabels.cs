namespace Turn.Server;

/// <summary>
/// Label values derived from the enums they count, so that a new member is counted under its
/// own name: <c>DroppedNotStun</c> is <c>not_stun</c> (the member's name in snake case, less a
/// prefix the label's name already says).
/// </summary>
internal static class MetricLabels
{
    /// <summary>Every member's label, indexed by the member's value (members must be 0, 1, 2, ...).</summary>
    public static string[] Of<TEnum>(string prefix = "")
        where TEnum : struct, Enum
    {
        TEnum[] values = Enum.GetValues<TEnum>();
        var labels = new string[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            int value = Convert.ToInt32(values[i], System.Globalization.CultureInfo.InvariantCulture);
            if (value != i)
            {
                throw new InvalidOperationException($"{typeof(TEnum).Name}.{values[i]} is {value}, not {i}: its members must be numbered 0, 1, 2, ... to index a metric");
            }

            labels[i] = Snake(Enum.GetName(values[i])!, prefix);
        }

        return labels;
    }

    /// <summary>"DroppedNotStun" less "Dropped": "not_stun".</summary>
    public static string Snake(string name, string prefix = "")
    {
        ReadOnlySpan<char> rest = name.AsSpan().StartsWith(prefix, StringComparison.Ordinal) ? name.AsSpan(prefix.Length) : name;
        var snake = new System.Text.StringBuilder(rest.Length + 4);
        for (int i = 0; i < rest.Length; i++)
        {
            if (char.IsUpper(rest[i]) && i > 0)
            {
                snake.Append('_');
            }

            snake.Append(char.ToLowerInvariant(rest[i]));
        }

        return snake.ToString();
    }
}
