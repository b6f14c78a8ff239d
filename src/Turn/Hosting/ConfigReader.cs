using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace Turn.Hosting;

/// <summary>
/// Reads typed values from configuration and collects every problem, each naming the key and
/// the bad value, instead of stopping at the first. Keys it was never asked for are reported
/// as unknown, so a misspelt key does not go silently unused.
/// </summary>
internal sealed class ConfigReader(IConfiguration configuration)
{
    private readonly List<string> _errors = [];
    private readonly HashSet<string> _asked = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Errors => _errors;

    public void Error(string key, string? value, string problem)
        => _errors.Add(value is null ? $"{key}: {problem}" : $"{key}: \"{value}\" {problem}");

    public string? Text(string key)
    {
        _asked.Add(key);
        string? value = configuration[key];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    public string Text(string key, string fallback, int maxLength)
    {
        _asked.Add(key);
        string? value = configuration[key];
        if (value is null)
        {
            return fallback;
        }

        if (value.Length > maxLength)
        {
            Error(key, value, $"is longer than {maxLength} characters");
            return fallback;
        }

        return value;
    }

    public int Int(string key, int fallback, int min, int max, string what = "a whole number")
    {
        string? value = Text(key);
        if (value is null)
        {
            return fallback;
        }

        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) || result < min || result > max)
        {
            Error(key, value, $"is not {what} ({min}-{max})");
            return fallback;
        }

        return result;
    }

    public bool Bool(string key, bool fallback)
    {
        string? value = Text(key);
        if (value is null)
        {
            return fallback;
        }

        if (!bool.TryParse(value, out bool result))
        {
            Error(key, value, "is not true or false");
            return fallback;
        }

        return result;
    }

    public int Port(string key, int fallback) => Int(key, fallback, 1, 65535, "a port");

    public IPAddress? Address(string key)
    {
        string? value = Text(key);
        if (value is null)
        {
            return null;
        }

        if (!IPAddress.TryParse(value, out IPAddress? address))
        {
            Error(key, value, "is not an IP address");
        }

        return address;
    }

    /// <summary>A JSON array (key:0, key:1...) or, handy in an environment variable, a comma-separated string.</summary>
    public IReadOnlyList<string>? List(string key)
    {
        _asked.Add(key);
        IConfigurationSection section = configuration.GetSection(key);
        var items = new List<string>();
        foreach (IConfigurationSection child in section.GetChildren())
        {
            _asked.Add(child.Path);
            if (!string.IsNullOrWhiteSpace(child.Value))
            {
                items.Add(child.Value.Trim());
            }
        }

        if (items.Count == 0 && section.Value is not null)
        {
            items.AddRange(section.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return section.Exists() ? items : null;
    }

    /// <summary>Reads one item of a list; false when the text is not one.</summary>
    public delegate bool ItemParser<T>(string text, out T item);

    /// <summary>
    /// A list whose every item is parsed; each item that is not reports "key:i: "text" problem"
    /// and is left out. Null when the key is absent.
    /// </summary>
    public List<T>? List<T>(string key, ItemParser<T> parse, string problem)
    {
        IReadOnlyList<string>? items = List(key);
        if (items is null)
        {
            return null;
        }

        var parsed = new List<T>();
        for (int i = 0; i < items.Count; i++)
        {
            if (parse(items[i], out T item))
            {
                parsed.Add(item);
            }
            else
            {
                Error($"{key}:{i}", items[i], problem);
            }
        }

        return parsed;
    }

    /// <summary>Reports keys never asked for, outside the sections other components own.</summary>
    public void ReportUnknownKeys(params string[] foreignSections)
    {
        foreach (KeyValuePair<string, string?> pair in configuration.AsEnumerable())
        {
            if (pair.Value is null || _asked.Contains(pair.Key))
            {
                continue;
            }

            string section = pair.Key.Split(':')[0];
            if (Array.Exists(foreignSections, s => string.Equals(s, section, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            Error(pair.Key, null, "is not a known setting (see turn.example.json)");
        }
    }
}
