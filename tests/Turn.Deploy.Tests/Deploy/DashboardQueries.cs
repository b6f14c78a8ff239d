using System.Text.Json;

namespace Turn.Tests.Deploy;

/// <summary>
/// Reads the Grafana dashboard in deploy/grafana and the PromQL its panels run, so tests can
/// hold the queries against the metrics the daemon exports.
/// </summary>
internal static class DashboardQueries
{
    // Aggregation operators may be written "sum by (x) (...)", so they are not always followed by "(".
    private static readonly HashSet<string> Aggregations = new(StringComparer.OrdinalIgnoreCase)
    {
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
        "bottomk", "topk", "quantile", "limitk", "limit_ratio",
    };

    // Followed by a parenthesised list of label names, never by an expression.
    private static readonly HashSet<string> LabelListKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right",
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "and", "or", "unless", "atan2", "bool", "offset", "inf", "nan",
    };

    private static readonly string[] HistogramSuffixes = ["_bucket", "_sum", "_count"];

    /// <summary>A series selector in an expression: the metric name as written, its matchers, and the call it sits in.</summary>
    /// <param name="Name">The name as written, with any _bucket, _sum or _count suffix.</param>
    /// <param name="Matchers">What stood between the braces, or empty when there were none.</param>
    /// <param name="Function">The innermost function or aggregation the selector is an argument of, or null at top level.</param>
    public readonly record struct Selector(string Name, string Matchers, string? Function);

    /// <summary>deploy/grafana/turn-dashboard.json under the directory holding turn.sln.</summary>
    public static string DashboardPath => Repository.PathOf("deploy", "grafana", "turn-dashboard.json");

    /// <summary>Every panel of the dashboard, depth first, the panels nested in collapsed rows included.</summary>
    public static IReadOnlyList<JsonElement> Panels(JsonElement dashboard)
    {
        var panels = new List<JsonElement>();
        AddPanels(dashboard, panels);
        return panels;
    }

    /// <summary>The expr of every target of every panel in the dashboard file, in panel order.</summary>
    public static IReadOnlyList<string> Expressions(string path)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        var expressions = new List<string>();
        foreach (JsonElement panel in Panels(document.RootElement))
        {
            if (!panel.TryGetProperty("targets", out JsonElement targets) || targets.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (JsonElement target in targets.EnumerateArray())
            {
                if (target.ValueKind == JsonValueKind.Object
                    && target.TryGetProperty("expr", out JsonElement expr)
                    && expr.ValueKind == JsonValueKind.String)
                {
                    expressions.Add(expr.GetString()!);
                }
            }
        }

        return expressions;
    }

    /// <summary>
    /// The metric families the dashboard file queries, named as in a "# TYPE" line: a histogram's
    /// _bucket, _sum and _count series all give the histogram's name.
    /// </summary>
    public static IReadOnlySet<string> MetricNames(string path)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string expression in Expressions(path))
        {
            names.UnionWith(MetricNamesIn(expression));
        }

        return names;
    }

    /// <summary>The metric families one PromQL expression references, named as <see cref="MetricNames"/> names them.</summary>
    public static IReadOnlySet<string> MetricNamesIn(string expression)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Selector selector in Selectors(expression))
        {
            names.Add(FamilyName(selector.Name));
        }

        return names;
    }

    /// <summary>The family a series name belongs to: the name without a histogram's _bucket, _sum or _count suffix.</summary>
    public static string FamilyName(string seriesName)
    {
        foreach (string suffix in HistogramSuffixes)
        {
            if (seriesName.Length > suffix.Length && seriesName.EndsWith(suffix, StringComparison.Ordinal))
            {
                return seriesName[..^suffix.Length];
            }
        }

        return seriesName;
    }

    /// <summary>
    /// The named series selectors of a PromQL expression. Skipped: function and aggregation names
    /// (an identifier followed by "("), keywords, label lists after by/without/on/ignoring/group_left/
    /// group_right, matchers, string literals, ranges such as [$__rate_interval], numbers and
    /// durations, Grafana variables, comments, and selectors with no name before the braces.
    /// Never throws; input that does not parse yields whatever selectors were read before it.
    /// </summary>
    public static IReadOnlyList<Selector> Selectors(string expression)
    {
        var selectors = new List<Selector>();
        var calls = new List<string?>();
        string? pendingCall = null;
        ReadOnlySpan<char> s = expression;
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '#')
            {
                while (i < s.Length && s[i] != '\n')
                {
                    i++;
                }
            }
            else if (c is '"' or '\'' or '`')
            {
                i = SkipString(s, i);
            }
            else if (c == '$')
            {
                i = SkipVariable(s, i);
            }
            else if (c == '{')
            {
                i = SkipBraces(s, i, out _);
            }
            else if (c == '[')
            {
                i = SkipTo(s, i, ']');
            }
            else if (c == '(')
            {
                calls.Add(pendingCall);
                pendingCall = null;
                i++;
            }
            else if (c == ')')
            {
                if (calls.Count > 0)
                {
                    calls.RemoveAt(calls.Count - 1);
                }

                i++;
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && i + 1 < s.Length && char.IsAsciiDigit(s[i + 1])))
            {
                // Numbers, hex, exponents and durations such as 5m or 1h30m.
                while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '_'))
                {
                    i++;
                }
            }
            else if (IsNameStart(c))
            {
                int start = i;
                while (i < s.Length && IsNamePart(s[i]))
                {
                    i++;
                }

                string name = s[start..i].ToString();
                int next = SkipWhiteSpace(s, i);
                bool opensParenthesis = next < s.Length && s[next] == '(';
                if (LabelListKeywords.Contains(name))
                {
                    if (opensParenthesis)
                    {
                        i = SkipTo(s, next, ')');
                    }
                }
                else if (opensParenthesis || Aggregations.Contains(name))
                {
                    pendingCall = name.ToLowerInvariant();
                }
                else if (!Keywords.Contains(name))
                {
                    string matchers = string.Empty;
                    if (next < s.Length && s[next] == '{')
                    {
                        i = SkipBraces(s, next, out matchers);
                    }

                    selectors.Add(new Selector(name, matchers, InnermostCall(calls)));
                }
            }
            else
            {
                i++;
            }
        }

        return selectors;
    }

    private static void AddPanels(JsonElement container, List<JsonElement> panels)
    {
        if (container.ValueKind != JsonValueKind.Object
            || !container.TryGetProperty("panels", out JsonElement children)
            || children.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (JsonElement panel in children.EnumerateArray())
        {
            panels.Add(panel);
            AddPanels(panel, panels);
        }
    }

    private static string? InnermostCall(List<string?> calls)
    {
        for (int i = calls.Count - 1; i >= 0; i--)
        {
            if (calls[i] is not null)
            {
                return calls[i];
            }
        }

        return null;
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';

    private static int SkipWhiteSpace(ReadOnlySpan<char> s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i;
    }

    // Returns the index after the closing quote; backticks are raw strings without escapes.
    private static int SkipString(ReadOnlySpan<char> s, int i)
    {
        char quote = s[i++];
        while (i < s.Length && s[i] != quote)
        {
            i += s[i] == '\\' && quote != '`' ? 2 : 1;
        }

        return Math.Min(i + 1, s.Length);
    }

    // $name, ${name} or ${name:format}.
    private static int SkipVariable(ReadOnlySpan<char> s, int i)
    {
        i++;
        if (i < s.Length && s[i] == '{')
        {
            return SkipTo(s, i, '}');
        }

        while (i < s.Length && IsNamePart(s[i]))
        {
            i++;
        }

        return i;
    }

    private static int SkipBraces(ReadOnlySpan<char> s, int open, out string content)
    {
        int i = open + 1;
        while (i < s.Length && s[i] != '}')
        {
            i = s[i] is '"' or '\'' or '`' ? SkipString(s, i) : i + 1;
        }

        content = s[(open + 1)..Math.Min(i, s.Length)].ToString();
        return Math.Min(i + 1, s.Length);
    }

    private static int SkipTo(ReadOnlySpan<char> s, int i, char close)
    {
        while (i < s.Length && s[i] != close)
        {
            i++;
        }

        return Math.Min(i + 1, s.Length);
    }
}
